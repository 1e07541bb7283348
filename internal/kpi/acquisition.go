package kpi

import (
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
)

// MaxGroups bounds the channels and campaigns reported (the ones with the
// most customers; the rest are summed into OtherGroup), so neither the
// snapshot nor the metric labels grow with what producers send.
const MaxGroups = 50

// OtherGroup collects the channels or campaigns beyond MaxGroups.
const OtherGroup = "(other)"

// AcquisitionGroup holds the acquisition KPIs of one channel or campaign
// (docs/api.md, "Acquisition KPIs"). Money is in major units.
type AcquisitionGroup struct {
	Name string `json:"name"`
	// Customers were acquired in the group (customer_acquired);
	// CustomersWithCost of them carried an acquisition cost.
	Customers         int `json:"customers"`
	CustomersWithCost int `json:"customers_with_cost"`
	// CAC is the mean acquisition cost of the customers with a cost (0
	// when none has one).
	CAC float64 `json:"cac"`
	// HistoricCLV is the mean net margin to date (purchases and
	// subscriptions) per customer of the group; PredictedCLV the mean
	// historic margin plus predicted CLV (the expected margin over the
	// model horizon).
	HistoricCLV  float64 `json:"historic_clv"`
	PredictedCLV float64 `json:"predicted_clv"`
	// HistoricCLVToCAC and PredictedCLVToCAC are the ratios of those means
	// to CAC (over the customers with a cost); 0 without a cost.
	HistoricCLVToCAC  float64 `json:"historic_clv_to_cac"`
	PredictedCLVToCAC float64 `json:"predicted_clv_to_cac"`
	// PaybackMonths is CAC ÷ the mean margin per month since acquisition
	// of the customers with a cost (historic); PredictedPaybackMonths CAC ÷
	// their mean predicted margin per month over the model horizon. 0
	// without a cost; -1 when the margin per month is 0 (never pays back).
	PaybackMonths          float64 `json:"payback_months"`
	PredictedPaybackMonths float64 `json:"predicted_payback_months"`
	// Cohorts is the retention of the group's first-purchase-month
	// cohorts (channels only), as Snapshot.Cohorts.
	Cohorts []Cohort `json:"cohorts,omitempty"`
}

// AcquisitionKPIs are the acquisition and referral KPIs.
type AcquisitionKPIs struct {
	// Acquired counts the customers with a customer_acquired event,
	// Referred those acquired through a referral.
	Acquired int `json:"acquired"`
	Referred int `json:"referred"`
	// ReferralRate is the share of the customers acquired in the KPI
	// period who were referred (NewAcquired of them in the period);
	// ReferralRateAllTime the share over all acquired customers.
	NewAcquired         int     `json:"new_acquired"`
	ReferralRate        float64 `json:"referral_rate"`
	ReferralRateAllTime float64 `json:"referral_rate_all_time"`
	// ReferredCLV and NonReferredCLV compare the mean historic and
	// predicted CLV of referred and other acquired customers.
	ReferredCLV    CLVPair `json:"referred_clv"`
	NonReferredCLV CLVPair `json:"non_referred_clv"`
	// Channels and Campaigns, most customers first (at most MaxGroups
	// each, the rest in OtherGroup).
	Channels  []AcquisitionGroup `json:"channels"`
	Campaigns []AcquisitionGroup `json:"campaigns"`
}

// CLVPair is a mean historic and predicted CLV (major units) over
// Customers.
type CLVPair struct {
	Customers    int     `json:"customers"`
	HistoricCLV  float64 `json:"historic_clv"`
	PredictedCLV float64 `json:"predicted_clv"`
}

// SubscriptionKPIs are the subscription figures of the population.
type SubscriptionKPIs struct {
	// Subscribers by status: active, cancelling, cancelled (customers;
	// a customer counts once, by their best subscription).
	Active     int `json:"active"`
	Cancelling int `json:"cancelling"`
	Cancelled  int `json:"cancelled"`
	// MonthlyRecurringRevenue is the price per mean month of the active
	// subscriptions (major units).
	MonthlyRecurringRevenue float64 `json:"monthly_recurring_revenue"`
	// MeanRenewalProbability is the mean probability of renewing at the
	// end of the current period over the active subscribers with a renewal
	// model (Modelled of them); ResidualValue the sum of their price × DERL.
	Modelled               int     `json:"modelled"`
	MeanRenewalProbability float64 `json:"mean_renewal_probability"`
	ResidualValue          float64 `json:"residual_value"`
	// ChurnRate is the share of the subscribers of the start of the KPI
	// period (active or cancelling then, SubscribersAtStart) whose
	// subscriptions have all ended (cancelled) at its end.
	SubscribersAtStart int     `json:"subscribers_at_start"`
	ChurnRate          float64 `json:"churn_rate"`
}

type groupAcc struct {
	customers, withCost                  int
	cost, hist, pred, costHist, costPred float64
	monthly, predMonthly                 float64 // sums over the customers with a cost
	cohorts                              map[string]*chanCohort
}

type chanCohort struct {
	size   int
	active []int
}

// toolkitAcc accumulates the acquisition and subscription KPIs.
type toolkitAcc struct {
	major, horizonMonths      float64
	asOf, periodStart         time.Time
	firstMonth, cohortsWanted int
	channels, campaigns       map[string]*groupAcc
	acq                       AcquisitionKPIs
	refHist, refPred          [2]float64 // [referred, not]
	sub                       SubscriptionKPIs
	subSeen                   bool
	renewalSum                float64
}

func newToolkitAcc(major float64, horizonMonths int, asOf, periodStart time.Time, cohorts int) *toolkitAcc {
	if horizonMonths <= 0 {
		horizonMonths = 12
	}
	return &toolkitAcc{major: major, horizonMonths: float64(horizonMonths), asOf: asOf, periodStart: periodStart,
		firstMonth: monthIndex(asOf) - cohorts + 1, cohortsWanted: cohorts,
		channels: map[string]*groupAcc{}, campaigns: map[string]*groupAcc{}}
}

// add accounts one (not erased) customer scored as r.
func (a *toolkitAcc) add(st *customer.State, r *scoring.Result) {
	if sc := r.Subscription; sc != nil {
		a.subSeen = true
		switch sc.Status {
		case customer.SubActive:
			a.sub.Active++
			a.sub.MonthlyRecurringRevenue += sc.MonthlyRevenue / a.major
			if sc.Modelled {
				a.sub.Modelled++
				a.renewalSum += sc.RenewalProbability
				a.sub.ResidualValue += sc.ResidualValue / a.major
			}
		case customer.SubCancelling:
			a.sub.Cancelling++
		case customer.SubCancelled:
			a.sub.Cancelled++
		}
		if was := st.SubscriptionFeatures(a.periodStart).Status; was == customer.SubActive || was == customer.SubCancelling {
			a.sub.SubscribersAtStart++
			if sc.Status == customer.SubCancelled {
				a.sub.ChurnRate++ // counted here, divided at the end
			}
		}
	}
	acq := st.Acquisition
	if !acq.Set {
		return
	}
	hist := float64(r.HistoricMargin) / a.major
	pred := hist + r.PredictedCLV/a.major
	a.acq.Acquired++
	i := 1
	if acq.Referrer != 0 {
		a.acq.Referred++
		i = 0
	}
	a.refHist[i] += hist
	a.refPred[i] += pred
	at := time.UnixMilli(acq.At).UTC()
	if at.After(a.periodStart) && !at.After(a.asOf) {
		a.acq.NewAcquired++
		if acq.Referrer != 0 {
			a.acq.ReferralRate++ // divided at the end
		}
	}
	months := math.Max(1, a.asOf.Sub(at).Hours()/24/30.436875)
	for _, g := range []struct {
		m   map[string]*groupAcc
		key string
	}{{a.channels, acq.Channel}, {a.campaigns, acq.Campaign}} {
		if g.key == "" {
			continue
		}
		acc := g.m[g.key]
		if acc == nil {
			acc = &groupAcc{}
			g.m[g.key] = acc
		}
		acc.customers++
		acc.hist += hist
		acc.pred += pred
		if acq.HasCost {
			acc.withCost++
			acc.cost += float64(acq.Cost) / a.major
			acc.costHist += hist
			acc.costPred += pred
			acc.monthly += hist / months
			acc.predMonthly += (pred - hist) / a.horizonMonths
		}
	}
	a.channelCohort(st, acq.Channel, r)
}

// channelCohort adds the customer to the first-purchase-month cohort of
// their channel.
func (a *toolkitAcc) channelCohort(st *customer.State, channel string, r *scoring.Result) {
	f := r.Features
	if f.PurchaseDays == 0 {
		return
	}
	m0 := monthIndex(f.FirstPurchase)
	if m0 < a.firstMonth {
		return
	}
	g := a.channels[channel]
	if g.cohorts == nil {
		g.cohorts = map[string]*chanCohort{}
	}
	key := f.FirstPurchase.Format("2006-01")
	c := g.cohorts[key]
	if c == nil {
		c = &chanCohort{active: make([]int, monthIndex(a.asOf)-m0+1)}
		g.cohorts[key] = c
	}
	c.size++
	last := -1
	for _, d := range st.Days {
		at := time.UnixMilli(d.D * 24 * 3600 * 1000).UTC()
		k := monthIndex(at) - m0
		if at.After(a.asOf) || k < 0 || k >= len(c.active) || k == last {
			continue
		}
		last = k // days are sorted: one count per month
		c.active[k]++
	}
}

// finish writes the KPIs into s (nil parts when no customer has them).
func (a *toolkitAcc) finish(s *Snapshot) {
	if a.subSeen {
		sub := a.sub
		if sub.Modelled > 0 {
			sub.MeanRenewalProbability = a.renewalSum / float64(sub.Modelled)
		}
		if sub.SubscribersAtStart > 0 {
			sub.ChurnRate /= float64(sub.SubscribersAtStart)
		} else {
			sub.ChurnRate = 0
		}
		s.Subscriptions = &sub
	}
	if a.acq.Acquired == 0 {
		return
	}
	k := a.acq
	if k.NewAcquired > 0 {
		k.ReferralRate /= float64(k.NewAcquired)
	} else {
		k.ReferralRate = 0
	}
	k.ReferralRateAllTime = float64(k.Referred) / float64(k.Acquired)
	pair := func(n int, h, p float64) CLVPair {
		if n == 0 {
			return CLVPair{}
		}
		return CLVPair{Customers: n, HistoricCLV: h / float64(n), PredictedCLV: p / float64(n)}
	}
	k.ReferredCLV = pair(k.Referred, a.refHist[0], a.refPred[0])
	k.NonReferredCLV = pair(k.Acquired-k.Referred, a.refHist[1], a.refPred[1])
	k.Channels = groups(a.channels, a.firstMonth, true)
	k.Campaigns = groups(a.campaigns, a.firstMonth, false)
	s.Acquisition = &k
}

// groups turns the accumulators into groups, most customers first (then
// by name), the ones beyond MaxGroups merged into OtherGroup.
func groups(m map[string]*groupAcc, firstMonth int, cohorts bool) []AcquisitionGroup {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := m[names[i]], m[names[j]]
		if a.customers != b.customers {
			return a.customers > b.customers
		}
		return names[i] < names[j]
	})
	if len(names) > MaxGroups {
		other := &groupAcc{}
		for _, n := range names[MaxGroups-1:] {
			g := m[n]
			other.customers += g.customers
			other.withCost += g.withCost
			other.cost += g.cost
			other.hist += g.hist
			other.pred += g.pred
			other.costHist += g.costHist
			other.costPred += g.costPred
			other.monthly += g.monthly
			other.predMonthly += g.predMonthly
		}
		names = append(names[:MaxGroups-1], OtherGroup)
		m[OtherGroup] = other
	}
	out := make([]AcquisitionGroup, 0, len(names))
	for _, n := range names {
		g := m[n]
		ag := AcquisitionGroup{Name: n, Customers: g.customers, CustomersWithCost: g.withCost,
			HistoricCLV: g.hist / float64(g.customers), PredictedCLV: g.pred / float64(g.customers)}
		if g.withCost > 0 {
			w := float64(g.withCost)
			ag.CAC = g.cost / w
			if ag.CAC > 0 {
				ag.HistoricCLVToCAC = g.costHist / w / ag.CAC
				ag.PredictedCLVToCAC = g.costPred / w / ag.CAC
				ag.PaybackMonths = payback(ag.CAC, g.monthly/w)
				ag.PredictedPaybackMonths = payback(ag.CAC, g.predMonthly/w)
			}
		}
		if cohorts && g.cohorts != nil {
			for month, c := range g.cohorts {
				co := Cohort{Month: month, Size: c.size, Retention: make([]float64, len(c.active))}
				for k, v := range c.active {
					co.Retention[k] = float64(v) / float64(c.size)
				}
				ag.Cohorts = append(ag.Cohorts, co)
			}
			sort.Slice(ag.Cohorts, func(i, j int) bool { return ag.Cohorts[i].Month < ag.Cohorts[j].Month })
		}
		out = append(out, ag)
	}
	return out
}

// payback is cac ÷ monthly margin, -1 when the margin is not positive.
func payback(cac, monthly float64) float64 {
	if !(monthly > 0) {
		return -1
	}
	return cac / monthly
}

// toolkitGauges export the subscription and acquisition KPIs.
type toolkitGauges struct {
	subscribers          *prometheus.GaugeVec
	mrr, renewal         prometheus.Gauge
	subChurn, referral   prometheus.Gauge
	clvToCAC, cac, payby *prometheus.GaugeVec
}

func newToolkitGauges(reg prometheus.Registerer) *toolkitGauges {
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(x)
		return x
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		x := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		reg.MustRegister(x)
		return x
	}
	t := &toolkitGauges{
		subscribers: gv("clvstream_subscribers", "Customers by subscription status (active, cancelling, cancelled; latest KPI snapshot).", "status"),
		mrr:         g("clvstream_monthly_recurring_revenue", "Price per mean month of the active subscriptions (major units)."),
		renewal:     g("clvstream_mean_renewal_probability", "Mean probability of renewing at the end of the current period, active subscribers with a renewal model."),
		subChurn:    g("clvstream_subscription_churn_ratio", "Share of the subscribers at the start of the KPI period whose subscriptions have all ended by its end."),
		referral:    g("clvstream_referral_ratio", "Share of the customers acquired in the KPI period who were referred."),
		clvToCAC:    gv("clvstream_clv_to_cac_ratio", "Mean CLV ÷ CAC per acquisition channel (clv: historic or predicted; at most 50 channels).", "channel", "clv"),
		cac:         gv("clvstream_customer_acquisition_cost", "Mean acquisition cost per channel (major units).", "channel"),
		payby:       gv("clvstream_payback_months", "CAC ÷ mean margin per month per channel (clv: historic or predicted; -1: never pays back).", "channel", "clv"),
	}
	for _, s := range []string{customer.SubActive, customer.SubCancelling, customer.SubCancelled} {
		t.subscribers.WithLabelValues(s)
	}
	return t
}

func (t *toolkitGauges) set(s *Snapshot) {
	var sub SubscriptionKPIs
	if s.Subscriptions != nil {
		sub = *s.Subscriptions
	}
	t.subscribers.WithLabelValues(customer.SubActive).Set(float64(sub.Active))
	t.subscribers.WithLabelValues(customer.SubCancelling).Set(float64(sub.Cancelling))
	t.subscribers.WithLabelValues(customer.SubCancelled).Set(float64(sub.Cancelled))
	t.mrr.Set(sub.MonthlyRecurringRevenue)
	t.renewal.Set(sub.MeanRenewalProbability)
	t.subChurn.Set(sub.ChurnRate)
	t.clvToCAC.Reset()
	t.cac.Reset()
	t.payby.Reset()
	if s.Acquisition == nil {
		t.referral.Set(0)
		return
	}
	t.referral.Set(s.Acquisition.ReferralRate)
	for _, c := range s.Acquisition.Channels {
		if c.CustomersWithCost == 0 {
			continue
		}
		t.cac.WithLabelValues(c.Name).Set(c.CAC)
		t.clvToCAC.WithLabelValues(c.Name, "historic").Set(c.HistoricCLVToCAC)
		t.clvToCAC.WithLabelValues(c.Name, "predicted").Set(c.PredictedCLVToCAC)
		t.payby.WithLabelValues(c.Name, "historic").Set(c.PaybackMonths)
		t.payby.WithLabelValues(c.Name, "predicted").Set(c.PredictedPaybackMonths)
	}
}

// scaleToolkit scales the subscription and acquisition counts and sums of
// a sampled snapshot by f (n rounds a count); means and ratios stay.
func (s *Snapshot) scaleToolkit(n func(*int), f float64) {
	if k := s.Subscriptions; k != nil {
		for _, v := range []*int{&k.Active, &k.Cancelling, &k.Cancelled, &k.Modelled, &k.SubscribersAtStart} {
			n(v)
		}
		k.MonthlyRecurringRevenue *= f
		k.ResidualValue *= f
	}
	if k := s.Acquisition; k != nil {
		for _, v := range []*int{&k.Acquired, &k.Referred, &k.NewAcquired, &k.ReferredCLV.Customers, &k.NonReferredCLV.Customers} {
			n(v)
		}
		for _, gs := range [][]AcquisitionGroup{k.Channels, k.Campaigns} {
			for i := range gs {
				n(&gs[i].Customers)
				n(&gs[i].CustomersWithCost)
				for j := range gs[i].Cohorts {
					n(&gs[i].Cohorts[j].Size)
				}
			}
		}
	}
}
