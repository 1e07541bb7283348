// Package customer holds the per-customer state of clvstream: the
// order-independent sufficient statistics from which every score is derived.
//
// The model is a set of facts, not a running tally. A State records the
// distinct purchase days with their day totals, the order and refund ids
// already applied, the transitions of each support ticket and the
// send/open/click times of each email message. Applying an event adds a fact
// to these sets; applying the same fact twice changes nothing (no double
// counting), and because every derived figure (frequency, recency, first-day
// value, net revenue, open tickets, email engagement) is a function of the
// sets rather than of the arrival sequence, any permutation of the same
// events gives the same State (order independence).
//
// A business id is counted once even when two different events claim it
// (a producer bug or a corrected re-send): the event with the earliest
// (occurred_at, event_id) is kept and the other's contribution is undone, so
// the outcome does not depend on which arrived first.
//
// Memory per customer is bounded: the id sets keep the most recent entries
// by (time, id) (MaxOrders, MaxRefunds, MaxTickets, MaxEmails). Keeping the
// top N of a set under a fixed ordering is itself order independent. The
// bound costs one guarantee: a duplicate of an order older than the oldest
// kept id is no longer recognised. Kafka redelivery is caught earlier, by the
// applied offsets kept beside the state, so the id sets only guard against
// producers that emit the same business event twice.
//
// Times are kept in Unix milliseconds (UTC); money in minor units of the base
// currency. Features computes the derived figures as of a given instant.
package customer
