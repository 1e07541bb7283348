package segment

import (
	"math"
	"testing"
)

func TestChannelFieldsInRules(t *testing.T) {
	e, err := Compile(RuleSet{Rules: []RuleSpec{
		{Name: "do-not-message", When: "opted_out"},
		{Name: "sms-fans", When: "sms_engagement >= 0.5 and not sms_opted_out"},
		{Name: "cold-email", When: "email_engagement < 0.1"},
		{Name: "rest", When: "true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	for _, tt := range []struct {
		c    ChannelFields
		want string
	}{
		{ChannelFields{OptedOut: true, EmailOptedOut: true, EmailEngagement: 0.9, SMSEngagement: 0.9, PushEngagement: nan}, "do-not-message"},
		{ChannelFields{EmailEngagement: 0.05, SMSEngagement: 0.6, PushEngagement: nan}, "sms-fans"},
		{ChannelFields{EmailEngagement: 0.05, SMSEngagement: nan, PushEngagement: nan}, "cold-email"},
		{ChannelFields{EmailEngagement: nan, SMSEngagement: nan, PushEngagement: nan}, "rest"}, // never messaged
	} {
		if got, _ := e.Match(Customer{Channels: tt.c}, ""); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.c, got, tt.want)
		}
	}
}
