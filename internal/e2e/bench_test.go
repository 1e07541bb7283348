package e2e

import (
	"testing"
	"time"
)

// BenchmarkPipelineThroughput measures end-to-end throughput: 100,000
// events (purchases, refunds, tickets, emails of 2,000 customers, 10%
// redelivered) already in 4 partitions of a real broker are consumed,
// decoded, applied, scored and committed to Redis by one instance. It
// reports events per second from the start of the service to the moment
// the last offset is stored in Redis and the outboxes are drained.
//
//	make bench   (or: go test -run '^$' -bench PipelineThroughput -benchtime 1x ./internal/e2e)
func BenchmarkPipelineThroughput(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, 4)
		recs := workload(uint64(i+10), 2000, 46)
		e.produceRecords(recs...)
		cfg := e.config()
		cfg.Kafka.BatchSize = 1000
		cfg.Kafka.FlushInterval = 100 * time.Millisecond
		b.StartTimer()
		start := time.Now()
		stop := e.start(cfg, "bench")
		e.waitApplied(10 * time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()
		stop()
		b.ReportMetric(float64(len(recs))/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(len(recs)), "events")
	}
}
