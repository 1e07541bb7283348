package connect

import (
	"crypto/sha256"
	"encoding/hex"

	"go.uber.org/zap"
)

// CustomerField is the log field "customer" naming a customer: with hash
// (log.hash_customer_ids, the default) the first 16 hex digits of the
// SHA-256 of id, which follows one customer through the logs without
// writing the id; without, the id in clear.
func CustomerField(id string, hash bool) zap.Field {
	if !hash {
		return zap.String("customer", id)
	}
	return zap.String("customer", HashCustomer(id))
}

// HashCustomer returns the first 16 hex digits of the SHA-256 of id, the
// form customer ids take in logs (to find a customer's lines: hash the id).
func HashCustomer(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}
