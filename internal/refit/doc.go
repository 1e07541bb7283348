// Package refit runs the model life cycle of the service around the pure
// fit of package model: Store keeps the published Record versions in Redis
// (a version counter, the current record and a bounded history, published
// only by the holder of the refit lease), Fitter is the loop that one
// instance at a time (a Redis lease with expiry) runs on a schedule and on
// request — collect the states, model.Fit, model.Gate, publish — and
// Watcher polls the current version and serves it to the scoring tasks and
// the query API. Logger and metrics are injected.
package refit
