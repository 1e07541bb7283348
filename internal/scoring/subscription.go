package scoring

import (
	"math"
	"time"

	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/segment"
	"github.com/clvstream/clvstream/pkg/subscription"
)

// FactorCancellation names the churn factor of a subscriber: the renewal
// model's probability of cancelling within the churn horizon.
const FactorCancellation = "subscription_cancellation"

// applySubscription folds the subscription scores into r and c; a state
// without subscriptions or acquisition is left as it is (the common case
// costs two length checks).
//
// For an active subscriber the churn risk is the renewal model's
// probability of cancelling within the churn horizon (before a renewal
// model is fitted, the purchase-based risk stays); a cancelling
// subscriber's is 1, as is a cancelled one's without purchases. A
// cancelled subscriber who still buys one-off keeps the purchase model's
// risk for those purchases. The residual value of the active
// subscriptions (price · DERL, at scoring.default_margin) is added to
// predicted CLV and the subscription revenue to date to historic CLV and
// margin.
func (s *Scorer) applySubscription(st *customer.State, now time.Time, m *inForce, r *Result, c *segment.Customer, held *Result) {
	c.Channel = st.Acquisition.Channel
	c.Referrals = st.ReferralCount()
	if len(st.Subscriptions) == 0 {
		return
	}
	eval := subscription.Evaluate
	if held != nil {
		eval = subscription.EvaluateStatus // a due-time probe: value figures are held
	}
	sc := eval(st, now, m.rec.SubscriptionModel(), time.Duration(m.horizon*24*float64(time.Hour)), s.cfg.Subscriptions)
	r.Subscription = &sc
	major := s.cfg.MinorPerMajor
	rev := int64(math.Min(sc.Revenue, math.MaxInt64/4))
	r.HistoricCLV += rev
	r.HistoricMargin += int64(float64(rev) * s.cfg.DefaultMargin)
	c.HistoricCLV = float64(r.HistoricMargin) / major
	c.NetRevenue += float64(rev) / major
	if held != nil {
		r.PredictedCLV = held.PredictedCLV
	} else {
		r.PredictedCLV += sc.ResidualValue * s.cfg.DefaultMargin
	}
	c.CLV = r.PredictedCLV / major
	c.Subscription, c.SubscriptionRenewals = sc.Status, sc.Renewals
	c.RenewalProbability = sc.RenewalProbability
	switch {
	case sc.Status == customer.SubActive && sc.Modelled,
		sc.Status == customer.SubCancelling,
		sc.Status == customer.SubCancelled && r.Features.PurchaseDays == 0:
		r.ChurnRisk = sc.ChurnProbability
		r.Factors = []churn.Factor{{Name: FactorCancellation, Value: sc.ChurnProbability, Contribution: sc.ChurnProbability}}
		r.ChurnLevel = s.cfg.Churn.Level(r.ChurnRisk)
		c.ChurnProbability, c.ChurnLevel = r.ChurnRisk, r.ChurnLevel
	}
}

// subscriptionDue returns the known instants after now at which a
// subscription figure can change without an event (period and grace
// ends, a renewal date entering the churn horizon); nil without
// subscriptions.
func (s *Scorer) subscriptionDue(st *customer.State, now time.Time, m *inForce) []time.Time {
	if len(st.Subscriptions) == 0 {
		return nil
	}
	return subscription.DueTimes(st, now, time.Duration(m.horizon*24*float64(time.Hour)))
}
