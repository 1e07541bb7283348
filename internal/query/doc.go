// Package query is the read side of clvstream: it answers questions about
// one customer (scores as of now, from the state in Redis), the segment
// rules and their population, the model in force and the latest KPI
// snapshot. It never writes: a customer is scored on read, against the
// model in force and the service clock, exactly as the partition's task
// would score them, but the result is not stored.
//
// The HTTP layer (internal/api) maps its errors: ErrInvalidID to 400,
// ErrErased to 410, ErrNotReady to 503, ErrStore to 503 (logged); a nil
// view with a nil error means "not found" (404).
package query
