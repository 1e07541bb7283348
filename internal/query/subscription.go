package query

import (
	"time"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
)

// SubscriptionView is the subscription of a customer (the primary one:
// active, else cancelling, else the last known) and its renewal scores.
type SubscriptionView struct {
	// Status is active, cancelling (cancelled, paid period not over) or
	// cancelled.
	Status string `json:"status"`
	// Plan and Period of the primary subscription ("" when not known yet);
	// Renewals made so far; PaidThrough the end of the paid period.
	Plan        string    `json:"plan"`
	Period      string    `json:"period"`
	Renewals    int       `json:"renewals"`
	PaidThrough time.Time `json:"paid_through"`
	// ActiveSubscriptions counts the active and cancelling subscriptions.
	ActiveSubscriptions int `json:"active_subscriptions"`
	// MonthlyRecurringRevenue is the price of the active subscriptions per
	// mean month; Revenue the subscription revenue to date (latest price ×
	// periods paid).
	MonthlyRecurringRevenue string `json:"monthly_recurring_revenue"`
	Revenue                 string `json:"revenue"`
	// RenewalProbability (at the end of the current period), ExpectedRenewals
	// (within scoring.subscriptions.horizon) are null without a fitted
	// renewal model for the period; ResidualValue is price × DERL of the
	// active subscriptions ("0" without a model).
	RenewalProbability *float64 `json:"renewal_probability"`
	ExpectedRenewals   *float64 `json:"expected_renewals"`
	ResidualValue      string   `json:"residual_value"`
}

// AcquisitionView is how the customer was acquired.
type AcquisitionView struct {
	Channel  string    `json:"channel"`
	Campaign *string   `json:"campaign"`
	Referred bool      `json:"referred"`
	Cost     *string   `json:"cost"`
	At       time.Time `json:"acquired_at"`
}

// subscriptionViews builds the subscription and acquisition parts of a
// customer view (nil when the customer has none).
func (s *Service) subscriptionViews(st *customer.State, r scoring.Result) (*SubscriptionView, *AcquisitionView) {
	var sv *SubscriptionView
	if sc := r.Subscription; sc != nil && sc.Status != customer.SubNone {
		sv = &SubscriptionView{Status: sc.Status, Plan: sc.Plan, Period: string(sc.Period), Renewals: sc.Renewals,
			PaidThrough: sc.PaidThrough, ActiveSubscriptions: sc.Active,
			MonthlyRecurringRevenue: s.moneyF(sc.MonthlyRevenue), Revenue: s.moneyF(sc.Revenue), ResidualValue: s.moneyF(sc.ResidualValue)}
		if sc.Modelled && sc.Status == customer.SubActive {
			sv.RenewalProbability, sv.ExpectedRenewals = ptr(round4(sc.RenewalProbability)), ptr(round4(sc.ExpectedRenewals))
		}
	}
	var av *AcquisitionView
	if a := st.Acquisition; a.Set {
		av = &AcquisitionView{Channel: a.Channel, Referred: a.Referrer != 0, At: time.UnixMilli(a.At).UTC()}
		if a.Campaign != "" {
			av.Campaign = ptr(a.Campaign)
		}
		if a.HasCost {
			av.Cost = ptr(s.money(a.Cost))
		}
	}
	return sv, av
}
