package stream

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/pkg/event"
)

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	Records        *prometheus.CounterVec
	DeadLetters    *prometheus.CounterVec
	SegmentChanges *prometheus.CounterVec
	BatchSeconds   prometheus.Histogram
	RedisSeconds   *prometheus.HistogramVec
	RelaySeconds   prometheus.Histogram
	RelayRecords   prometheus.Counter
	Lag            *prometheus.GaugeVec
	OutboxBacklog  *prometheus.GaugeVec
	Assigned       prometheus.Gauge
	Rebalances     prometheus.Counter
	RedisErrors    *prometheus.CounterVec
	Rescored       *prometheus.CounterVec
	TierChanges    *prometheus.CounterVec
	Milestones     prometheus.Counter
	RelayErrors    prometheus.Counter
	KafkaErrors    *prometheus.CounterVec
	// Resumes counts resumptions from the stored checkpoint by cause;
	// MergeWaits the merges that gave up waiting for a partition that is
	// behind; CacheHits/CacheMisses the state cache's lookups; Quarantined
	// the stored states that could not be decoded.
	Resumes     *prometheus.CounterVec
	MergeWaits  prometheus.Counter
	CacheHits   prometheus.Counter
	CacheMisses prometheus.Counter
	Quarantined prometheus.Counter
	// Stalled is 1 for a partition with lag that applied nothing for
	// two minutes.
	Stalled *prometheus.GaugeVec
	// Refunds counts refunds by how they counted; RefundsReleased the
	// pending refunds attached to an order that arrived after them.
	Refunds         *prometheus.CounterVec
	RefundsReleased prometheus.Counter
	Partitions      prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_records_total",
			Help: "Input records by topic, event type and outcome (applied, duplicate, replayed, ignored_erased, dead_lettered).",
		}, []string{"topic", "type", "outcome"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_dead_letter_total",
			Help: "Records written to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		SegmentChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_segment_transitions_total",
			Help: "Segment changes committed to the outbox, by previous segment, new segment and cause.",
		}, []string{"from", "to", "cause"}),
		BatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "clvstream_batch_duration_seconds",
			Help:    "Time to process one batch: decode, load, apply, score, dead-letter and commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		RedisSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clvstream_redis_call_duration_seconds",
			Help:    "Latency of Redis calls by operation (load, commit, due).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}, []string{"op"}),
		RelaySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "clvstream_relay_write_duration_seconds",
			Help:    "Time to produce one outbox batch to the segment-changes topic.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		RelayRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_relay_records_total",
			Help: "Outbox records (segment changes, referral credits) produced by the outbox relay and acknowledged by the broker.",
		}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clvstream_consumer_lag_records",
			Help: "Records between the task's applied offset and the end of the partition as the broker reports it.",
		}, []string{"topic", "partition"}),
		OutboxBacklog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clvstream_outbox_backlog_records",
			Help: "Segment changes waiting in the outbox of a partition.",
		}, []string{"partition"}),
		Assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clvstream_assigned_partitions",
			Help: "Input partition numbers (tasks) owned by this instance.",
		}),
		Rebalances: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_rebalances_total",
			Help: "Consumer-group generations joined by this instance.",
		}),
		RedisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_redis_errors_total",
			Help: "Failed Redis calls by operation.",
		}, []string{"op"}),
		Rescored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_rescored_customers_total",
			Help: "Customers re-scored without a new event, by cause (scheduled, model) and whether their segment changed.",
		}, []string{"cause", "changed"}),
		TierChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_tier_changes_total",
			Help: "Loyalty-tier changes published, by previous and new tier.",
		}, []string{"from", "to"}),
		Milestones: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_milestones_total",
			Help: "Cumulative-spend milestones published.",
		}),
		RelayErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_relay_errors_total",
			Help: "Failed outbox relay rounds (produce or outbox delete); the round is retried.",
		}),
		KafkaErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_kafka_errors_total",
			Help: "Failed Kafka operations by op (fetch, join, dead_letter, commit_offsets, list_offsets).",
		}, []string{"op"}),
		Partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clvstream_input_partitions",
			Help: "Partition count of the input topics (every instance exports it).",
		}),
		Resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_task_resumes_total",
			Help: "Times a task resumed from the checkpoint stored in Redis after a failed batch, by cause (redis, offset_conflict, fenced, dead_letter).",
		}, []string{"cause"}),
		MergeWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_merge_wait_exceeded_total",
			Help: "Event-time merges that went on without a lagging input partition after kafka.merge_wait.",
		}),
		CacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_state_cache_hits_total",
			Help: "Customer states found in the task's state cache.",
		}),
		CacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_state_cache_misses_total",
			Help: "Customer states loaded from Redis.",
		}),
		Refunds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clvstream_refunds_total",
			Help: "Applied refunds by how they counted: counted (against a known order), capped (the order's refunds exceed its amount; the excess does not count), pending (the order is unknown yet).",
		}, []string{"result"}),
		RefundsReleased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_refunds_released_total",
			Help: "Pending refunds that started counting when their order arrived.",
		}),
		Stalled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clvstream_partition_stalled",
			Help: "1 while an owned input partition has lag but has applied no record for 2 minutes.",
		}, []string{"partition"}),
		Quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clvstream_quarantined_states_total",
			Help: "Stored customer states that could not be decoded and were moved to the quarantine hash.",
		}),
	}
	reg.MustRegister(m.Records, m.DeadLetters, m.SegmentChanges, m.BatchSeconds, m.RedisSeconds, m.RelaySeconds,
		m.RelayRecords, m.Lag, m.OutboxBacklog, m.Assigned, m.Rebalances, m.RedisErrors, m.Rescored, m.TierChanges, m.Milestones, m.RelayErrors, m.KafkaErrors, m.Partitions,
		m.Resumes, m.MergeWaits, m.CacheHits, m.CacheMisses, m.Quarantined, m.Refunds, m.RefundsReleased, m.Stalled)
	for _, r := range []string{"counted", "capped", "pending"} {
		m.Refunds.WithLabelValues(r)
	}
	for _, c := range []string{"redis", "offset_conflict", "fenced", "dead_letter"} {
		m.Resumes.WithLabelValues(c)
	}
	for _, r := range event.Reasons {
		m.DeadLetters.WithLabelValues(string(r))
	}
	for _, op := range []string{"claim", "load", "commit", "due", "scan", "release"} {
		m.RedisErrors.WithLabelValues(op)
	}
	for _, op := range []string{"fetch", "join", "dead_letter", "commit_offsets", "list_offsets"} {
		m.KafkaErrors.WithLabelValues(op)
	}
	return m
}
