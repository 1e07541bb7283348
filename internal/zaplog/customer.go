package zaplog

import (
	"crypto/sha256"
	"encoding/hex"

	"go.uber.org/zap"
)

// Customer is the log field "customer" naming a customer: with hash the
// first 16 hex digits of the SHA-256 of id; without, the id in clear.
func Customer(id string, hash bool) zap.Field {
	if !hash {
		return zap.String("customer", id)
	}
	return zap.String("customer", HashCustomer(id))
}

// HashCustomer returns the first 16 hex digits of the SHA-256 of id, the form
// customer ids take in logs.
func HashCustomer(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}
