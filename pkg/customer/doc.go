// Package customer holds the per-customer state of clvstream: the
// order-independent sufficient statistics from which every score is derived,
// and its storage encoding.
//
// The model is a set of facts, not a running tally. A State records the
// distinct purchase days with their day totals, the orders and refunds
// already applied, the transitions of each support ticket and the
// send/open/click times of each email message. Applying an event adds a fact
// to these sets; applying the same fact twice changes nothing (no double
// counting), and because every derived figure (frequency, recency, first-day
// value, net revenue, open tickets, email engagement) is a function of the
// sets rather than of the arrival sequence, any permutation of the same
// events gives the same State (order independence).
//
// Subscriptions and the acquisition (subscription.go) follow the same
// rule: per subscription the earliest start, the latest start or renewal,
// the latest cancellation and the latest value of each term, so renewals
// are counted from times (round((latest − first) / period)) rather than
// from events, and the status (active, cancelling, cancelled) is a function
// of the facts and the instant; the earliest customer_acquired is the
// acquisition. Referrals (referral.go) are the customers this one referred,
// credited by referral_credited events: each referred id hash once with
// its latest credit time, the MaxReferrals most recent, a function of the
// set of credits.
//
// Business ids (order, refund, ticket, message) are kept as 64-bit FNV-1a
// hashes (HashID). A business id is counted once even when two different
// events claim it (a producer bug or a corrected re-send): the claim with
// the earliest time wins, then the smaller amount, then the smaller margin;
// claims equal in all of these have the same effect, so the outcome does not
// depend on which arrived first.
//
// Refunds count against their order and never take it below zero: an
// order's counted refunds are at most its amount (and margin). A refund
// whose order is unknown is pending (kept, not counted) and counts when the
// order arrives, whichever comes first; a refund of another customer's order
// therefore never counts. ApplyEvent reports how each refund counted.
//
// Money sums are exact 128-bit Totals of non-negative int64 amounts, so they
// stay associative and invertible at any magnitude; Features reads them
// saturated at math.MaxInt64, never negative, never wrapped.
//
// Memory per customer is bounded: the sets keep the most recent entries by
// (time, id hash) (MaxOrders, MaxRefunds, MaxTickets, MaxEmails per
// channel, MaxSurveys); per channel only the latest opt-out and opt-in
// are kept (message.go). Of several responses to one survey the latest
// (occurred_at, then event id hash) is kept (survey.go); a message keeps
// the smallest campaign its events name, and campaign attribution is
// derived from the kept orders and messages (attribution.go). Keeping
// the top N of a set under a fixed ordering is itself order independent.
// The bound costs a few guarantees, all documented in docs/state.md: a
// duplicate of an order older than the oldest kept one is no longer
// recognised, a pending refund pushed out of the set is dropped, and a
// refund of an order pushed out of the set stays pending. Kafka redelivery
// is caught earlier, by the applied offsets kept beside the state, so the
// sets only guard against producers that emit the same business event twice.
//
// Times are kept in Unix milliseconds (UTC); money in minor units of the base
// currency. Features computes the derived figures as of a given instant.
//
// MarshalBinary writes the versioned binary encoding (first byte
// EncodingVersion); UnmarshalBinary reads it and the JSON format of earlier
// releases, reusing the receiver's memory. State added after the version-1
// layout (subscriptions, acquisition, referrals) is written as tagged sections after
// it (codec_ext.go), so a state without it encodes as before and old states
// decode unchanged. The layout is specified in docs/state.md.
package customer
