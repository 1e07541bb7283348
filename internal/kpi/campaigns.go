package kpi

import (
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/pkg/customer"
)

// Attribution configures the campaign attribution of purchases (the
// attribution section of the configuration).
type Attribution struct {
	// Window: a purchase within this time after a click (else an open) of
	// a message with a campaign is attributed to the last such campaign
	// (default 168h = 7 days).
	Window time.Duration `yaml:"window"`
}

// WithDefaults returns a with zero fields set to defaults.
func (a Attribution) WithDefaults() Attribution {
	if a.Window == 0 {
		a.Window = customer.DefaultAttributionWindow
	}
	return a
}

// Validate names the first invalid field.
func (a Attribution) Validate() error {
	if a.Window < 0 || (a.Window > 0 && a.Window < time.Hour) || a.Window > 366*24*time.Hour {
		return fmt.Errorf("attribution.window: %s must be between 1h and 8784h (366 days), e.g. 168h (7 days); 0 means the default", a.Window)
	}
	return nil
}

// CampaignKPIs are the purchases attributed (last touch) to one campaign
// and the retention of the customers they came from. Money in major
// units of the base currency.
//
//	orders          attributed orders (OrdersByClick of them by a click)
//	revenue         Σ attributed orders' amounts after their refunds
//	customers       customers with an attributed order
//	retention_rate  retained ÷ customers: still active (a purchase within
//	                kpi.active_window of as_of)
//	repeat_rate     repeaters ÷ customers: bought again on a later day
//	                than their first order attributed to the campaign
type CampaignKPIs struct {
	Campaign      string  `json:"campaign"`
	Orders        int     `json:"orders"`
	OrdersByClick int     `json:"orders_by_click"`
	Revenue       float64 `json:"revenue"`
	GrossRevenue  float64 `json:"gross_revenue"`
	Customers     int     `json:"customers"`
	Retained      int     `json:"retained"`
	RetentionRate float64 `json:"retention_rate"`
	Repeaters     int     `json:"repeaters"`
	RepeatRate    float64 `json:"repeat_rate"`
}

// MaxCampaigns bounds the campaigns a snapshot reports (the largest by
// attributed revenue); the rest are summed under OtherCampaigns.
const MaxCampaigns = 200

// OtherCampaigns names the sum of the campaigns beyond MaxCampaigns.
const OtherCampaigns = "(other)"

type campaignAcc struct {
	window, active time.Duration
	asOf           time.Time
	major          float64
	by             map[string]*CampaignKPIs
}

func newCampaignAcc(window, active time.Duration, asOf time.Time, major float64) *campaignAcc {
	return &campaignAcc{window: window, active: active, asOf: asOf, major: major, by: map[string]*CampaignKPIs{}}
}

// add counts one customer's attributed orders.
func (a *campaignAcc) add(st *customer.State, f *customer.Features) {
	atts := st.Attributions(a.asOf, a.window)
	if len(atts) == 0 {
		return
	}
	first := map[string]int64{} // campaign -> day of the first attributed order
	for _, at := range atts {
		k := a.by[at.Campaign]
		if k == nil {
			k = &CampaignKPIs{Campaign: at.Campaign}
			a.by[at.Campaign] = k
		}
		k.Orders++
		if at.ByClick {
			k.OrdersByClick++
		}
		k.Revenue += float64(at.Net) / a.major
		k.GrossRevenue += float64(at.Amount) / a.major
		if _, ok := first[at.Campaign]; !ok {
			first[at.Campaign] = at.At / (24 * 3600 * 1000)
		}
	}
	active := f.PurchaseDays > 0 && a.asOf.Sub(f.LastPurchase) <= a.active
	lastDay := f.LastPurchase.UnixMilli() / (24 * 3600 * 1000)
	for c, day := range first {
		k := a.by[c]
		k.Customers++
		if active {
			k.Retained++
		}
		if lastDay > day {
			k.Repeaters++
		}
	}
}

// finish returns the campaigns by attributed revenue (then name), at most
// MaxCampaigns and the rest summed as OtherCampaigns.
func (a *campaignAcc) finish() []CampaignKPIs {
	out := make([]CampaignKPIs, 0, len(a.by))
	for _, k := range a.by {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Revenue != out[j].Revenue {
			return out[i].Revenue > out[j].Revenue
		}
		return out[i].Campaign < out[j].Campaign
	})
	if len(out) > MaxCampaigns {
		rest := CampaignKPIs{Campaign: OtherCampaigns}
		for _, k := range out[MaxCampaigns-1:] {
			rest.Orders += k.Orders
			rest.OrdersByClick += k.OrdersByClick
			rest.Revenue += k.Revenue
			rest.GrossRevenue += k.GrossRevenue
			rest.Customers += k.Customers // a customer of two campaigns counts twice here
			rest.Retained += k.Retained
			rest.Repeaters += k.Repeaters
		}
		out = append(out[:MaxCampaigns-1], rest)
	}
	for i := range out {
		if k := &out[i]; k.Customers > 0 {
			k.RetentionRate = float64(k.Retained) / float64(k.Customers)
			k.RepeatRate = float64(k.Repeaters) / float64(k.Customers)
		}
	}
	return out
}

// campaignGaugeTop is how many campaigns get gauges (the largest by
// revenue), bounding the label cardinality.
const campaignGaugeTop = 20

// campaignGauges export the top campaigns.
type campaignGauges struct{ revenue, orders, retention *prometheus.GaugeVec }

func newCampaignGauges(reg prometheus.Registerer) *campaignGauges {
	v := func(name, help string) *prometheus.GaugeVec { return gaugeVec(reg, name, help, "campaign") }
	return &campaignGauges{
		revenue:   v("clvstream_campaign_attributed_revenue", "Revenue (after refunds, major units) of the orders attributed to a campaign by last touch within attribution.window; the 20 largest campaigns."),
		orders:    v("clvstream_campaign_attributed_orders", "Orders attributed to a campaign (last touch: the latest click, else open, within attribution.window); the 20 largest campaigns."),
		retention: v("clvstream_campaign_retention_ratio", "Share of a campaign's attributed customers still active (a purchase within kpi.active_window); the 20 largest campaigns."),
	}
}

func (g *campaignGauges) set(s *Snapshot) {
	g.revenue.Reset()
	g.orders.Reset()
	g.retention.Reset()
	for i, k := range s.Campaigns {
		if i == campaignGaugeTop {
			break
		}
		g.revenue.WithLabelValues(k.Campaign).Set(k.Revenue)
		g.orders.WithLabelValues(k.Campaign).Set(float64(k.Orders))
		g.retention.WithLabelValues(k.Campaign).Set(k.RetentionRate)
	}
}
