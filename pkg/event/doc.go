// Package event defines clvstream's input events and turns raw Kafka record
// values into validated events. It uses the standard library only, so
// producers can import it to build records and batch jobs can reuse the
// decoder.
//
// # Wire record and validated event
//
// A producer writes one JSON object per Kafka record, keyed by customer id:
// a Record. Its common fields are event_id, type, customer_id and
// occurred_at (RFC 3339 with offset); the other fields depend on the type
// (see Types and the JSON Schemas under api/schemas, one per type). Unknown
// fields are ignored, so producers can add their own.
//
// A Decoder turns a record value and its headers into an Event: every field
// checked, occurred_at parsed and in UTC, defaults applied (priority
// "normal", refund_id = event_id) and money converted to the base currency.
// Code downstream of the decoder works with Events only.
//
// # Strict JSON
//
// The value is read in a single pass by a hand-written tokenizer (no
// reflection, no intermediate maps; the Event's strings share one
// allocation). It accepts exactly RFC 8259 JSON and is stricter than
// encoding/json where that would hide a producer bug:
//
//   - Member names match exactly: "Customer_ID" is an unknown member, not
//     customer_id.
//   - A member given twice in the event object (or in CloudEvents data) is
//     rejected, even with the same value: invalid_field naming the field,
//     or malformed_json for another member. Objects nested in unknown
//     members are only checked for syntax.
//   - A lone UTF-16 surrogate escape (\ud800 not followed by a
//     \udc00-\udfff escape, or a lone \udc00) in any string is rejected
//     (invalid_field for a field, malformed_json elsewhere) rather than
//     turned into U+FFFD, so two different ids can never decode to the
//     same string. Bytes that are not UTF-8 are malformed_json.
//
// # Money
//
// Money is never a float. A record gives an amount either as a decimal
// string in major units ("amount": "12.34") or as integer minor units
// ("amount_minor": 1234), never both, plus an ISO 4217 currency. A decimal
// string may not have more fraction digits than the currency's minor unit
// (CurrencyExponent: USD 2, JPY 0, KWD 3), so nothing is rounded on input.
// A JSON number in amount or margin is rejected, because it may already have
// lost precision in the producer.
//
// The Decoder converts to minor units of its base currency with a configured
// rate table (units of base currency per unit of the other currency). The
// conversion minor * rate * 10^(baseExp-curExp) is exact rational arithmetic
// (checked 128-bit integers, math/big for rates of more than 19 digits)
// rounded half to even, once, at the end; a result that does not fit in an
// int64 is rejected, never wrapped. An amount or margin above the
// configured per-event maximum (Config.MaxAmount, in base-currency minor
// units after conversion; default DefaultMaxAmount = 10^12, 10 billion
// USD) is rejected as invalid_field naming the field and the limit, which
// keeps every sum of amounts far from int64 overflow. A currency that is unknown or has
// no rate is rejected rather than guessed. Purchases may be 0 (free
// orders); refunds must be positive. An optional margin must lie between 0
// and the amount.
//
// # CloudEvents
//
// CloudEvents 1.0 are accepted in both content modes of the Kafka protocol
// binding:
//
//   - Structured mode: the content-type header starts with
//     application/cloudevents+json, or the JSON value has a "specversion"
//     member. The value is the CloudEvent; its "data" object holds the
//     type-specific fields (and optionally customer_id).
//   - Binary mode: a ce_specversion header (ce-specversion is accepted too).
//     The attributes are the ce_id, ce_type, ce_time and ce_subject headers,
//     and the value is the data object.
//
// In both modes event_id, type and occurred_at come from the attributes id,
// type and time, whatever the data says; customer_id comes from the data, or
// from subject when the data has none. A type may be namespaced, such as
// "com.acme.purchase": the part after the last '.' must be a known Type.
//
// # Subscriptions and acquisition
//
// subscription_started, subscription_renewed and subscription_cancelled
// carry a subscription_id; a start also plan, period (day, week, month,
// quarter, year) and a price per period, a renewal those when they change,
// a cancellation none of them. customer_acquired carries a channel and
// optionally a referrer_id (not the customer's own) and an acquisition
// cost. Prices and costs follow the money rules above (price or
// price_minor, acquisition_cost or acquisition_cost_minor, with currency).
// On other types these members are ignored like unknown ones.
//
// # Internal types
//
// referral_credited (InternalTypes, not in Types) is written by clvstream
// itself to its referrals topic when a customer_acquired names a referrer:
// customer_id is the referrer, referred_hash the referred customer's id
// hash (16 lower-case hex digits), event_id ReferralCreditID. The decoder
// decodes it like any type; the stream layer dead-letters it on every
// topic but the referrals topic, so producers cannot send it.
//
// # Rejections
//
// Every rejected record gets an *Error whose Reason is one of a small fixed
// set (Reasons): it becomes the dead-letter error-class header and a metric
// label. Field names the Record field at fault and Msg says what was
// expected, so the Error text alone tells an operator what to fix, e.g.
//
//	invalid_field: amount: must be a decimal string like "12.34", not a JSON number (floats lose cents); or give integer minor units in amount_minor
//
// Checks run in a fixed order (size, JSON syntax, duplicates and surrogates,
// JSON types of the fields, type, common fields, type-specific
// fields), so the same record always gets the same error. All errors are
// permanent: redelivering the record gives the same result.
package event
