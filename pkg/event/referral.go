package event

import (
	"fmt"
	"strconv"
)

// ReferralCredited is the internal event that credits a referral to the
// referrer: clvstream itself writes it to kafka.topics.referrals, keyed by
// the referrer, when it applies a customer_acquired naming a referrer_id
// (docs/design/referrals.md). Producers never send it: the stream layer
// dead-letters it on any other topic. Carries referred_hash.
const ReferralCredited Type = "referral_credited"

// InternalTypes lists the types clvstream writes and reads itself on its
// internal topics, in a stable order. They are not in Types (the types
// producers send) nor in the type list of error messages.
var InternalTypes = []Type{ReferralCredited}

// Internal reports whether t is one of InternalTypes.
func (t Type) Internal() bool { return t == ReferralCredited }

// ReferralCreditID is the deterministic event_id of the credit of the
// customer whose id hashes to referred to the referrer whose id hashes to
// referrer: "referral/<referred>/<referrer>" with both hashes as 16
// lower-case hex digits. It is a function of the customer_acquired event
// alone, so every replay or redelivery of that event gives the same id.
func ReferralCreditID(referred, referrer uint64) string {
	return "referral/" + HashHex(referred) + "/" + HashHex(referrer)
}

// HashHex formats a 64-bit id hash as the 16 lower-case hex digits
// referred_hash carries.
func HashHex(h uint64) string { return fmt.Sprintf("%016x", h) }

// ReferralCredit is the value of a referral_credited record.
type ReferralCredit struct {
	EventID    string `json:"event_id"`
	Type       Type   `json:"type"`
	CustomerID string `json:"customer_id"` // the referrer
	// ReferredHash is the hash of the referred customer's id (HashHex of
	// customer.HashID); the referred customer's id itself never leaves
	// their own partition.
	ReferredHash string `json:"referred_hash"`
	OccurredAt   string `json:"occurred_at"` // the customer_acquired's occurred_at
}

// referral validates and fills the referral_credited fields: a required
// referred_hash of 16 lower-case hex digits, not all zero.
func referral(w *wire, ev *Event) *Error {
	h, err := stringMember(w, mReferredHash)
	if err != nil {
		return err
	}
	if len(h) == 0 {
		return Errorf(ReasonMissingField, "referred_hash", "required on %s: the hash of the referred customer's id, 16 lower-case hex digits", ev.Type)
	}
	v, perr := strconv.ParseUint(string(h), 16, 64)
	if len(h) != 16 || perr != nil || !lowerHex(h) {
		return Errorf(ReasonInvalidField, "referred_hash", "%q is not 16 lower-case hex digits", clip(string(h)))
	}
	if v == 0 {
		return Errorf(ReasonInvalidField, "referred_hash", "must not be 0000000000000000 (no customer id hashes to 0 in practice; the record is corrupt)")
	}
	ev.Referred = v
	return nil
}

func lowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
