package scoring

import (
	"math"

	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/segment"
)

// surveyFields maps a customer's survey features to the segment-rule
// fields: latest scores (NaN without a response, so that no comparison
// holds), the NPS class, the detractor and high-effort flags and the
// response rate.
func surveyFields(f *customer.SurveyFeatures) segment.SurveyFields {
	latest := func(k customer.SurveyKind) float64 {
		if n, ok := f.Score(k); ok {
			return float64(n)
		}
		return math.NaN()
	}
	he, _ := f.HighEffort()
	class := f.NPSClass()
	return segment.SurveyFields{
		NPS: latest(customer.KindNPS), CSAT: latest(customer.KindCSAT), CES: latest(customer.KindCES),
		NPSClass: class, Detractor: class == customer.Detractor, HighEffort: he,
		ResponseRate: f.ResponseRate(),
	}
}

// channelFields maps the per-channel engagement and opt-outs to the
// segment-rule fields (engagement NaN below one decayed send).
func channelFields(f *customer.Features) segment.ChannelFields {
	c := &f.Channels
	return segment.ChannelFields{
		OptedOut:      f.OptedOut,
		EmailOptedOut: c[customer.ChanEmail].OptedOut, SMSOptedOut: c[customer.ChanSMS].OptedOut, PushOptedOut: c[customer.ChanPush].OptedOut,
		EmailEngagement: c[customer.ChanEmail].Engagement(), SMSEngagement: c[customer.ChanSMS].Engagement(),
		PushEngagement: c[customer.ChanPush].Engagement(),
	}
}
