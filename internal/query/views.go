package query

import (
	"time"

	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/event"
)

// CustomerView is one customer scored as of ScoredAt. Money is a decimal
// string in the base currency (CLV.Currency); probabilities are 0..1;
// durations are in days. Figures are rounded to 4 decimals.
type CustomerView struct {
	CustomerID string `json:"customer_id"`
	// Version is the stored state's version (the version of the last
	// segment change published for the customer is at most this).
	Version uint64 `json:"version"`
	// Erased is always false in a view: erased customers are answered
	// with ErrErased (HTTP 410) and no figures.
	Erased bool `json:"erased"`
	// ScoredAt is the instant the figures describe: the service clock, or
	// the customer's latest fact when that is later (as the pipeline does).
	ScoredAt     time.Time `json:"scored_at"`
	ModelVersion string    `json:"model_version"`

	CLV CLV `json:"clv"`
	// CLVPercentile is the predicted CLV's percentile in the fitted
	// population; null while no model is fitted.
	CLVPercentile *float64 `json:"clv_percentile"`
	// PAlive is the probability that the customer is still active (the
	// purchase model, or 1 − the baseline recency risk); 0 without purchases.
	PAlive float64 `json:"p_alive"`
	// ExpectedPurchases over the next ExpectedPurchasesDays; null while no
	// model is fitted.
	ExpectedPurchases     *float64  `json:"expected_purchases"`
	ExpectedPurchasesDays float64   `json:"expected_purchases_days"`
	ChurnRisk             ChurnRisk `json:"churn_risk"`
	Segment               Segment   `json:"segment"`
	// LoyaltyTier is the tier by trailing-12-month spend ("none" without
	// spend in that window).
	LoyaltyTier string `json:"loyalty_tier"`
	// RFM is null while no model (and so no cut points) is fitted.
	RFM       *RFM      `json:"rfm"`
	Purchases Purchases `json:"purchases"`
	NextOrder NextOrder `json:"next_order"`
	Support   Support   `json:"support"`
	Email     Email     `json:"email"`
	Surveys   Surveys   `json:"surveys"`
	Channels  Channels  `json:"channels"`
	// Subscription is null for a customer who never subscribed;
	// Acquisition null while no customer_acquired event is known.
	Subscription *SubscriptionView `json:"subscription"`
	Acquisition  *AcquisitionView  `json:"acquisition"`
	// Referrals is the number of customers credited to this one as their
	// referrer (the referrals rule field; at most 100; 0 while
	// kafka.topics.referrals is not set).
	Referrals int `json:"referrals"`
}

// CLV holds the value figures, as in the segment-change event (the same
// type and builder, core.Format.Figures).
type CLV = event.CLVFigures

// ChurnRisk is the churn probability, its level and every factor that
// contributed to it, largest upward contribution first, as in the
// segment-change event.
type ChurnRisk = event.ChurnRisk

// Factor is one churn signal: its value and its contribution in log-odds.
type Factor = event.ChurnFactor

// Segment is the customer's segment as published downstream, when they
// entered it, and the decision of the rules as of ScoredAt.
type Segment struct {
	// Name is the segment last published for the customer.
	Name string `json:"name"`
	// Since is when the customer entered it (scoring clock); null when
	// the customer was never scored by the pipeline.
	Since *time.Time `json:"since"`
	// Pending is the segment the rules decide as of ScoredAt when it
	// differs from Name: the pipeline publishes the move at its next
	// re-scoring of the customer (within the hour). Null otherwise.
	Pending *string `json:"pending"`
	// Reason is the rule of the decision as of ScoredAt and the values it
	// looked at (or the minimum-dwell hold).
	Reason Reason `json:"reason"`
}

// Reason names a rule and the values that decided it, as in the
// segment-change event.
type Reason = event.SegmentReason

// RFM are the quintile scores 1..5 and their sum.
type RFM struct {
	R     int `json:"r"`
	F     int `json:"f"`
	M     int `json:"m"`
	Score int `json:"score"`
}

// Purchases summarises the purchase history as of ScoredAt.
type Purchases struct {
	// PurchaseDays counts distinct purchase days; Frequency the repeat
	// days (PurchaseDays − 1).
	PurchaseDays int `json:"purchase_days"`
	Frequency    int `json:"frequency"`
	// FirstPurchase and LastPurchase are UTC dates (YYYY-MM-DD), null
	// without purchases.
	FirstPurchase *string `json:"first_purchase"`
	LastPurchase  *string `json:"last_purchase"`
	RecencyDays   float64 `json:"recency_days"`
	TenureDays    float64 `json:"tenure_days"`
	// GrossRevenue, NetRevenue (after refunds), AverageOrderValue (gross
	// per purchase day) and Trailing12MSpend (gross, last 365 days).
	GrossRevenue      string `json:"gross_revenue"`
	NetRevenue        string `json:"net_revenue"`
	AverageOrderValue string `json:"average_order_value"`
	Trailing12MSpend  string `json:"trailing_12m_spend"`
}

// NextOrder is the reorder rhythm of a repeat buyer.
type NextOrder struct {
	// AverageDaysBetweenOrders and ExpectedDate (UTC date) are null with
	// fewer than two purchase days.
	AverageDaysBetweenOrders *float64 `json:"average_days_between_orders"`
	ExpectedDate             *string  `json:"expected_date"`
	// ReplenishmentDue is set for a regular buyer who is overdue.
	ReplenishmentDue bool `json:"replenishment_due"`
}

// Support summarises the support tickets.
type Support struct {
	OpenTickets         int      `json:"open_tickets"`
	ReopenedTickets     int      `json:"reopened_tickets"`
	ResolvedTickets     int      `json:"resolved_tickets"`
	MeanResolutionHours float64  `json:"mean_resolution_hours"`
	CSAT                *float64 `json:"csat"` // mean 1..5; null when none given
}

// Email is the email engagement: exponentially decayed counts.
type Email struct {
	Sends        float64 `json:"sends"`
	Opens        float64 `json:"opens"`
	Clicks       float64 `json:"clicks"`
	HalfLifeDays float64 `json:"half_life_days"`
}

// SegmentsView lists the segment rules in order with their population in
// the latest KPI snapshot.
type SegmentsView struct {
	Segments []SegmentInfo `json:"segments"`
	// ErasedCustomers counts erased customers (segment "erased", assigned
	// by the service, not by a rule); null without a snapshot.
	ErasedCustomers *int `json:"erased_customers"`
	// ComputedAt and AsOf are the snapshot's; null without a snapshot.
	ComputedAt *time.Time `json:"computed_at"`
	AsOf       *time.Time `json:"as_of"`
}

// SegmentInfo is one segment rule.
type SegmentInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Order is the rule's position (1 is tried first); 0 for a segment
	// that appears in the snapshot but not in this instance's rules.
	Order int `json:"order"`
	// Customers is the count in the latest snapshot; null without one.
	Customers *int `json:"customers"`
}

// ModelView is the model record in force with its label.
type ModelView struct {
	// Label is the model version as published in segment changes.
	Label string `json:"label"`
	model.Record
}

// KPIView is the latest KPI snapshot without its cohorts (see
// CohortsView), with the currency of its money figures (major units).
type KPIView struct {
	kpi.Snapshot
	Currency string `json:"currency"`
}

// CohortsView is the monthly first-purchase cohorts of the latest snapshot.
type CohortsView struct {
	ComputedAt time.Time    `json:"computed_at"`
	AsOf       time.Time    `json:"as_of"`
	Cohorts    []kpi.Cohort `json:"cohorts"`
}
