// Package obs builds the injected observability parts: the zap logger and
// the Prometheus registry with Go and process collectors. Nothing in
// clvstream logs or registers metrics globally; components receive these.
package obs
