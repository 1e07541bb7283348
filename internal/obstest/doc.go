// Package obstest checks clvstream's observability artefacts against the
// code and against a real Prometheus:
//
//   - deployments/grafana/dashboards/clvstream.json (every panel query),
//   - deployments/prometheus/rules/clvstream.yml (every alert) and
//     deployments/prometheus/prometheus.yml,
//   - docs/metrics.md (every metric, its type and labels) and the runbook
//     anchors in docs/operations.md.
//
// The tests without services (metric names, documentation, runbook links)
// always run. TestDashboardAndRulesOnPrometheus runs clvstream in-process
// against the test Redis and Kafka (internal/testkit), feeds it a simulated
// year of synthetic traffic, lets a private Prometheus (scripts/prometheus.sh,
// started by TestMain on 127.0.0.1:19090) scrape it every second, and
// evaluates every dashboard and alert expression through the HTTP API: each
// must return data. Prometheus is installed from Debian's packages when
// missing; when that is impossible the Prometheus tests skip, unless
// CLV_TEST_REQUIRE_SERVICES is set (make test), where they fail.
package obstest
