package event

// Message events generalise the email_* events to a channel: e-mail, SMS
// and push notifications, each with the interactions the channel has, and
// the customer's opt-out (and opt-in) per channel. The email_* events keep
// working unchanged: they are the e-mail channel's sent, opened and clicked.

// The message event types.
const (
	// MessageSent is a message sent to the customer on a channel.
	MessageSent Type = "message_sent"
	// MessageDelivered is the delivery receipt of a sent message.
	MessageDelivered Type = "message_delivered"
	// MessageOpened is an open of a message (email, push; SMS has no
	// open).
	MessageOpened Type = "message_opened"
	// MessageClicked is a click in a message (email, SMS links; push has
	// no click, its open is the tap).
	MessageClicked Type = "message_clicked"
	// MessageOptedOut is the customer opting out of (unsubscribing from)
	// a channel: automation must not message them there.
	MessageOptedOut Type = "message_opted_out"
	// MessageOptedIn is the customer opting (back) in to a channel.
	MessageOptedIn Type = "message_opted_in"
)

// The channels (the channel field).
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
)

// Channels lists the channels in a stable order.
var Channels = []string{ChannelEmail, ChannelSMS, ChannelPush}

// isMessage reports whether t is one of the message_* types.
func (t Type) isMessage() bool {
	switch t {
	case MessageSent, MessageDelivered, MessageOpened, MessageClicked, MessageOptedOut, MessageOptedIn:
		return true
	}
	return false
}

// channelOf returns the canonical channel string for b, "" when b is not a
// channel.
func channelOf(b []byte) string {
	switch string(b) {
	case ChannelEmail:
		return ChannelEmail
	case ChannelSMS:
		return ChannelSMS
	case ChannelPush:
		return ChannelPush
	}
	return ""
}

// ChannelHas reports whether a channel has the interaction of type t:
// SMS has no opens, push no clicks (its open is the tap); every channel
// has sends, deliveries and opt-outs.
func ChannelHas(channel string, t Type) bool {
	switch {
	case t == MessageOpened:
		return channel != ChannelSMS
	case t == MessageClicked:
		return channel != ChannelPush
	}
	return true
}

// message validates and fills the message_* fields: channel, then
// message_id (not on opt-outs and opt-ins, which are about the channel).
func message(w *wire, ev *Event, ss *strs) *Error {
	c := w.v[mChannel].b
	if len(c) == 0 {
		return Errorf(ReasonMissingField, "channel", `required on %s: one of "email", "sms", "push"`, ev.Type)
	}
	ch := channelOf(c)
	if ch == "" {
		return Errorf(ReasonInvalidField, "channel", `%q is not a channel; use one of "email", "sms", "push"`, clip(string(c)))
	}
	if !ChannelHas(ch, ev.Type) {
		return Errorf(ReasonInvalidField, "channel", "%s messages have no %s; the %s channel has sent, delivered, %s and opted_out/opted_in", ch, ev.Type, ch,
			map[string]string{ChannelSMS: "clicked", ChannelPush: "opened"}[ch])
	}
	ev.Channel = ch
	if ev.Type == MessageOptedOut || ev.Type == MessageOptedIn {
		if m := w.v[mMessageID].b; len(m) > 0 {
			if err := checkText("message_id", m, MaxIDBytes); err != nil {
				return err
			}
			ss.message = m
		}
		return nil
	}
	ss.message = w.v[mMessageID].b
	return requireID(ss.message, "message_id", "the message's id", ev.Type)
}
