package segment

// ChannelFields are the messaging figures rules can test (see
// docs/segments.md): opt-outs per channel and engagement per channel,
// (opens + clicks) ÷ sends of the decayed counters, NaN below one recent
// send so that no comparison holds.
type ChannelFields struct {
	// OptedOut is set when any channel is opted out.
	OptedOut                                 bool
	EmailOptedOut, SMSOptedOut, PushOptedOut bool
	EmailEngagement, SMSEngagement           float64
	PushEngagement                           float64
}

var channelFieldList = []*fieldDef{
	{name: "opted_out", kind: boolField, boolean: func(c *Customer) bool { return c.Channels.OptedOut }},
	{name: "email_opted_out", kind: boolField, boolean: func(c *Customer) bool { return c.Channels.EmailOptedOut }},
	{name: "sms_opted_out", kind: boolField, boolean: func(c *Customer) bool { return c.Channels.SMSOptedOut }},
	{name: "push_opted_out", kind: boolField, boolean: func(c *Customer) bool { return c.Channels.PushOptedOut }},
	{name: "email_engagement", kind: numField, num: func(c *Customer) float64 { return c.Channels.EmailEngagement }},
	{name: "sms_engagement", kind: numField, num: func(c *Customer) float64 { return c.Channels.SMSEngagement }},
	{name: "push_engagement", kind: numField, num: func(c *Customer) float64 { return c.Channels.PushEngagement }},
}

func init() { registerFields(channelFieldList) }
