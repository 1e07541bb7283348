package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
)

// BenchmarkPipelineThroughput measures end-to-end throughput: 100,000
// events (purchases, refunds, tickets, emails of 2,000 customers, 10%
// redelivered) already in 4 partitions of a real broker are consumed,
// decoded, applied, scored against a fitted MBG/NBD model and committed to
// Redis by one instance. It
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
		// Score against a fitted MBG/NBD model (CDNOW's parameters, weeks),
		// as a production instance does.
		models := model.NewStore(e.rdb, e.prefix)
		if ok, err := models.Lock(context.Background(), "bench", time.Minute); !ok || err != nil {
			b.Fatal(err)
		}
		if _, err := models.Publish(context.Background(), model.Record{Kind: model.KindMBGNBD, TimeUnitDays: 7, Converged: true,
			Params:        model.Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
			GammaGamma:    &model.GammaGamma{P: 6.25, Q: 3.74, V: 15.44},
			HorizonMonths: 12, MonthlyDiscount: 0.01, FittedAt: time.Now()}, "bench"); err != nil {
			b.Fatal(err)
		}
		_ = models.Unlock(context.Background(), "bench")
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
