package event

import (
	"fmt"
	"time"
)

// Type is the event type carried in the "type" field of a record (or, for
// CloudEvents, the last dot-separated segment of the CloudEvents "type"
// attribute).
type Type string

// The known event types.
const (
	// Purchase is a completed order. Carries order_id and an amount.
	Purchase Type = "purchase"
	// Refund returns money of an earlier order. Carries order_id and an amount.
	Refund Type = "refund"
	// TicketOpened is a new support ticket.
	TicketOpened Type = "ticket_opened"
	// TicketUpdated is a change to an open support ticket.
	TicketUpdated Type = "ticket_updated"
	// TicketResolved closes a support ticket, optionally with a CSAT score.
	TicketResolved Type = "ticket_resolved"
	// TicketReopened reopens a resolved support ticket.
	TicketReopened Type = "ticket_reopened"
	// EmailSent is a marketing or service email sent to the customer.
	EmailSent Type = "email_sent"
	// EmailOpened is an open of a sent email.
	EmailOpened Type = "email_opened"
	// EmailClicked is a click in a sent email.
	EmailClicked Type = "email_clicked"
	// CustomerErased asks for the customer's data to be erased (right to be
	// forgotten). Carries only the common fields.
	CustomerErased Type = "customer_erased"
)

// Types lists all known types in a stable order.
var Types = []Type{
	Purchase, Refund,
	TicketOpened, TicketUpdated, TicketResolved, TicketReopened,
	EmailSent, EmailOpened, EmailClicked,
	CustomerErased,
	SurveySent, SurveyResponded,
	MessageSent, MessageDelivered, MessageOpened, MessageClicked, MessageOptedOut, MessageOptedIn,
	SubscriptionStarted, SubscriptionRenewed, SubscriptionCancelled,
	CustomerAcquired,
}

// known reports whether t is one of Types.
func (t Type) known() bool {
	switch t {
	case Purchase, Refund,
		TicketOpened, TicketUpdated, TicketResolved, TicketReopened,
		EmailSent, EmailOpened, EmailClicked,
		CustomerErased,
		SurveySent, SurveyResponded,
		MessageSent, MessageDelivered, MessageOpened, MessageClicked, MessageOptedOut, MessageOptedIn,
		SubscriptionStarted, SubscriptionRenewed, SubscriptionCancelled,
		CustomerAcquired, ReferralCredited:
		return true
	}
	return false
}

// isTicket reports whether t is one of the ticket_* types.
func (t Type) isTicket() bool {
	return t == TicketOpened || t == TicketUpdated || t == TicketResolved || t == TicketReopened
}

// isEmail reports whether t is one of the email_* types.
func (t Type) isEmail() bool {
	return t == EmailSent || t == EmailOpened || t == EmailClicked
}

// Record is the wire form (JSON) a producer writes, one object per Kafka
// record. Optional fields are omitempty, so a marshalled Record carries only
// what was set. Money is never a float: give either a decimal string in
// major units (Amount, Margin) or integer minor units (AmountMinor,
// MarginMinor), plus the ISO 4217 Currency.
type Record struct {
	EventID    string `json:"event_id"`    // unique per event; the idempotency key
	Type       Type   `json:"type"`        // one of Types
	CustomerID string `json:"customer_id"` // 1-128 bytes, no control characters
	OccurredAt string `json:"occurred_at"` // RFC 3339 with offset, e.g. "2025-03-01T12:00:00Z"

	OrderID     string `json:"order_id,omitempty"`     // purchase, refund (required for both)
	RefundID    string `json:"refund_id,omitempty"`    // refund; defaults to event_id
	Amount      string `json:"amount,omitempty"`       // decimal string in major units, e.g. "12.34"
	AmountMinor *int64 `json:"amount_minor,omitempty"` // or integer minor units, e.g. 1234
	Currency    string `json:"currency,omitempty"`     // ISO 4217, required with an amount
	Margin      string `json:"margin,omitempty"`       // optional gross margin, decimal string, same currency
	MarginMinor *int64 `json:"margin_minor,omitempty"` // or integer minor units

	TicketID string `json:"ticket_id,omitempty"` // ticket_* (required)
	Priority string `json:"priority,omitempty"`  // low|normal|high|urgent, optional, default normal
	CSAT     int    `json:"csat,omitempty"`      // ticket_resolved only, optional 1..5

	MessageID string `json:"message_id,omitempty"` // email_* (required)
	Campaign  string `json:"campaign,omitempty"`   // optional campaign name, any type

	SurveyID      string `json:"survey_id,omitempty"`      // survey_* (required)
	Kind          string `json:"kind,omitempty"`           // survey_*: nps|csat|ces (required)
	Score         *int   `json:"score,omitempty"`          // survey_responded (required): nps 0..10, csat 1..5, ces 1..7
	CommentLength *int   `json:"comment_length,omitempty"` // survey_responded, optional: length of the free-text comment (the text itself is refused)

	Channel string `json:"channel,omitempty"` // message_* (required): email|sms|push; customer_acquired (required): the acquisition channel

	SubscriptionID string `json:"subscription_id,omitempty"` // subscription_* (required)
	Plan           string `json:"plan,omitempty"`            // subscription_started (required), _renewed (optional)
	Period         Period `json:"period,omitempty"`          // day|week|month|quarter|year; like plan
	Price          string `json:"price,omitempty"`           // decimal string per period; like plan
	PriceMinor     *int64 `json:"price_minor,omitempty"`     // or integer minor units

	ReferrerID           string `json:"referrer_id,omitempty"`            // customer_acquired, optional
	AcquisitionCost      string `json:"acquisition_cost,omitempty"`       // customer_acquired, optional decimal string
	AcquisitionCostMinor *int64 `json:"acquisition_cost_minor,omitempty"` // or integer minor units

	ReferredHash string `json:"referred_hash,omitempty"` // referral_credited (internal, required): 16 lower-case hex digits
}

// Event is a decoded, validated event. Money is already converted to minor
// units of the Decoder's base currency. Fields that do not apply to the
// event's Type are zero.
type Event struct {
	ID         string    // event_id
	Type       Type      // one of Types
	CustomerID string    // customer_id
	OccurredAt time.Time // occurred_at, in UTC

	OrderID  string // purchase, refund
	RefundID string // refund; event_id when the record had none

	// Amount is in base-currency minor units: >= 0 for purchase, > 0 for
	// refund.
	Amount int64
	// Margin is in base-currency minor units, 0 <= Margin <= Amount; only
	// meaningful when HasMargin.
	Margin int64
	// HasMargin reports whether the record carried a margin.
	HasMargin bool
	// Currency is the original ISO 4217 currency code of the record.
	Currency string

	TicketID string // ticket_*
	Priority string // ticket_*: low, normal (default), high or urgent
	CSAT     int    // ticket_resolved: 1..5, or 0 when not given

	MessageID string // email_*
	Campaign  string // optional, any type

	SurveyID   string // survey_*
	SurveyKind string // survey_*: SurveyNPS, SurveyCSAT or SurveyCES
	// Score is the survey_responded score, within the kind's range
	// (ScoreRange); CommentLength the comment's length in characters (0
	// when none was given).
	Score, CommentLength int

	// Channel is the message_* channel: ChannelEmail, ChannelSMS or
	// ChannelPush (empty on email_* events, which are e-mail).
	Channel string

	// Subscription is set on the subscription_* types, Acquisition on
	// customer_acquired (see subscription.go).
	Subscription Subscription
	Acquisition  Acquisition

	// Referred is the referral_credited hash of the referred customer's
	// id (referred_hash; never 0 on that type).
	Referred uint64
}

// Reason classifies why a record was rejected. It is the value of the
// dead-letter error-class header and a metric label, so the set is small
// and fixed (see Reasons).
type Reason string

// The rejection reasons.
const (
	// ReasonMalformed: the value is not a single valid UTF-8 JSON object.
	ReasonMalformed Reason = "malformed_json"
	// ReasonUnknownType: the type is not one of Types.
	ReasonUnknownType Reason = "unknown_type"
	// ReasonMissingField: a required field is absent or empty.
	ReasonMissingField Reason = "missing_field"
	// ReasonInvalidField: a field is present but has a wrong JSON type,
	// format or value.
	ReasonInvalidField Reason = "invalid_field"
	// ReasonUnknownCurrency: the currency is not a known ISO 4217 code or no
	// exchange rate to the base currency is configured.
	ReasonUnknownCurrency Reason = "unknown_currency"
	// ReasonClockSkew: occurred_at is further in the future than the allowed
	// clock skew.
	ReasonClockSkew Reason = "clock_skew"
	// ReasonOversize: the value is larger than the configured maximum.
	ReasonOversize Reason = "oversize"
	// ReasonMisrouted: the record is on a partition its key does not hash
	// to. The decoder never returns it; the stream layer does, via Errorf.
	ReasonMisrouted Reason = "misrouted"
)

// Reasons lists all reasons in a stable order, for pre-registering metric
// labels.
var Reasons = []Reason{
	ReasonMalformed, ReasonUnknownType, ReasonMissingField,
	ReasonInvalidField, ReasonUnknownCurrency, ReasonClockSkew,
	ReasonOversize, ReasonMisrouted,
}

// Error is a permanent decoding or validation error: retrying the same
// record gives the same error, so the record belongs on the dead-letter
// topic. Field is the JSON field at fault, named as in Record ("" when the
// error is not about one field); Msg says what was expected.
type Error struct {
	Reason Reason // the rejection class
	Field  string // Record field at fault, or ""
	Msg    string // what is wrong and what was expected
}

// Error formats the error as "reason: field: msg", or "reason: msg" when
// Field is empty, e.g.
// `invalid_field: amount: must be a decimal string like "12.34"`.
func (e *Error) Error() string {
	if e.Field == "" {
		return string(e.Reason) + ": " + e.Msg
	}
	return string(e.Reason) + ": " + e.Field + ": " + e.Msg
}

// Errorf builds an *Error with reason r, field and a message formatted with
// fmt.Sprintf. Callers use it for rejections the decoder cannot see, such as
// misrouted records.
func Errorf(r Reason, field, format string, args ...any) *Error {
	return &Error{Reason: r, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Header is a Kafka record header.
type Header struct {
	Key   string // header name; the decoder matches names case-insensitively
	Value []byte // header value
}
