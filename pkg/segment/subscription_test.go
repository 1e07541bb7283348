package segment

import (
	"math"
	"testing"
)

// The subscription and acquisition fields in rules: channel is an open
// string field, subscription a closed one (unknown values are errors),
// renewal_probability NaN compares false.
func TestSubscriptionAndChannelFields(t *testing.T) {
	e := mustCompile(t, RuleSet{Rules: []RuleSpec{
		{Name: "paid-subscriber", When: "channel == paid_search and subscription == active and renewal_probability >= 0.8"},
		{Name: "referred", When: "channel in [referral, 'friends program']"},
		{Name: "long-subscriber", When: "subscription_renewals >= 12"},
		{Name: "other", When: "true"},
	}})
	for _, c := range []struct {
		c    Customer
		want string
	}{
		{Customer{Channel: "paid_search", Subscription: "active", RenewalProbability: 0.9}, "paid-subscriber"},
		{Customer{Channel: "paid_search", Subscription: "active", RenewalProbability: math.NaN()}, "other"},
		{Customer{Channel: "friends program"}, "referred"},
		{Customer{Subscription: "cancelling", SubscriptionRenewals: 20}, "long-subscriber"},
		{Customer{}, "other"},
	} {
		if got, _ := e.Match(c.c, ""); got != c.want {
			t.Errorf("%+v: %s, want %s", c.c, got, c.want)
		}
	}
	if _, err := Compile(RuleSet{Rules: []RuleSpec{{Name: "x", When: "subscription == paused"}, {Name: "y", When: "true"}}}); err == nil {
		t.Error("subscription == paused compiled")
	} else {
		t.Log(err)
	}
}
