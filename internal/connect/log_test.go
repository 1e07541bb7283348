package connect

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestCustomerField(t *testing.T) {
	id := "cust-0042@example.com"
	want := fmt.Sprintf("%x", sha256.Sum256([]byte(id)))[:16]

	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	log.Info("hashed", CustomerField(id, true))
	log.Info("clear", CustomerField(id, false))
	entries := logs.All()
	if got := entries[0].ContextMap()["customer"]; got != want {
		t.Errorf("hashed customer = %v, want %s", got, want)
	}
	if got := entries[1].ContextMap()["customer"]; got != id {
		t.Errorf("clear customer = %v, want %s", got, id)
	}
	if HashCustomer(id) != want || len(want) != 16 || strings.Contains(want, "cust") {
		t.Errorf("HashCustomer(%q) = %q, want %q (16 hex digits)", id, HashCustomer(id), want)
	}
	if HashCustomer("cust-0043@example.com") == want {
		t.Error("two ids hash alike")
	}
}
