package kpi

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
)

// ChannelKPIs are one messaging channel's figures over all customers:
//
//	engaged_customers = customers with at least one decayed send on it
//	engagement        = mean over them of (opens + clicks) ÷ sends
//	opted_out         = customers opted out of it now
type ChannelKPIs struct {
	EngagedCustomers int     `json:"engaged_customers"`
	Engagement       float64 `json:"engagement"`
	OptedOut         int     `json:"opted_out"`

	sum float64
}

// channelAcc accumulates the per-channel KPIs, keyed by channel name.
type channelAcc struct {
	c        [3]ChannelKPIs
	optedOut int
}

func (a *channelAcc) add(r *scoring.Result) {
	f := &r.Features
	for ch := range a.c {
		c := f.Channels[ch]
		if e := c.Engagement(); !math.IsNaN(e) {
			a.c[ch].EngagedCustomers++
			a.c[ch].sum += e
		}
		if c.OptedOut {
			a.c[ch].OptedOut++
		}
	}
	if f.OptedOut {
		a.optedOut++
	}
}

// finish returns the channels by name and the customers opted out of any.
func (a *channelAcc) finish() (map[string]ChannelKPIs, int) {
	out := map[string]ChannelKPIs{}
	for ch := range a.c {
		k := a.c[ch]
		if k.EngagedCustomers > 0 {
			k.Engagement = k.sum / float64(k.EngagedCustomers)
		}
		out[customer.Channel(ch).String()] = k
	}
	return out, a.optedOut
}

// channelGauges export the channel KPIs.
type channelGauges struct{ optedOut, engagement *prometheus.GaugeVec }

func newChannelGauges(reg prometheus.Registerer) *channelGauges {
	v := func(name, help string) *prometheus.GaugeVec { return gaugeVec(reg, name, help, "channel") }
	return &channelGauges{
		optedOut:   v("clvstream_customers_opted_out", "Customers opted out of a messaging channel (latest KPI snapshot)."),
		engagement: v("clvstream_channel_engagement_average", "Mean (opens + clicks) / sends of the decayed counters, over customers with at least one recent send on the channel."),
	}
}

func (g *channelGauges) set(s *Snapshot) {
	for name, k := range s.Channels {
		g.optedOut.WithLabelValues(name).Set(float64(k.OptedOut))
		g.engagement.WithLabelValues(name).Set(k.Engagement)
	}
}
