package segment

// referralFieldList are the referral rule fields (docs/segments.md):
// referrals counts the customers credited to this one as their referrer
// (customer_acquired events naming them, docs/design/referrals.md), at
// most 100.
var referralFieldList = []*fieldDef{
	{name: "referrals", kind: numField, num: func(c *Customer) float64 { return float64(c.Referrals) }},
}

func init() { registerFields(referralFieldList) }
