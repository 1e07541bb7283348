// Package api serves clvstream's HTTP endpoints: /healthz (the process is
// alive), /readyz (it owns partitions and Redis answers) and /metrics
// (Prometheus exposition from the injected registry).
package api
