// Package api serves clvstream's HTTP endpoints: /healthz (the process is
// alive), /readyz (it owns partitions and Redis answers), /metrics
// (Prometheus exposition from the injected registry) and, when built with
// NewAPI, the read-only query API under /v1 (customers, segments, model,
// KPIs, cohorts), authenticated by bearer tokens. api/openapi.yaml is its
// contract and docs/api.md its guide.
package api
