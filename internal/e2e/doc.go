// Package e2e holds clvstream's end-to-end tests: the whole service against
// a real Redis server and a Kafka broker (the real Apache Kafka broker that
// scripts/services.sh starts, or the in-process kfake broker when no Java is
// available, announced loudly). They prove the invariants of DESIGN.md §1:
// dead-lettering, segment changes, time-driven drift, crash recovery after
// SIGKILL, rebalancing, replay, and the CDNOW benchmark reproduced from the
// stream.
package e2e
