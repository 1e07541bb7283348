// Package app wires clvstream's parts from a Config: Redis client and store,
// decoder, scorer, metrics, the stream service and the HTTP server, run
// together and stopped by one context. cmd/clvstream's run and demo
// subcommands both use it.
package app
