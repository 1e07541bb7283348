package stream

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// Topics names the topics the pipeline reads and writes.
type Topics struct {
	Purchases string `yaml:"purchases"`
	Tickets   string `yaml:"tickets"`
	Emails    string `yaml:"emails"`
	// Surveys is the optional input topic of the survey_* events; empty
	// (the default) means they travel on Tickets with the other customer
	// feedback.
	Surveys        string `yaml:"surveys"`
	SegmentChanges string `yaml:"segment_changes"`
	DeadLetter     string `yaml:"dead_letter"`
	// Referrals is the optional internal topic of referral credits
	// (docs/design/referrals.md): clvstream writes a referral_credited
	// record there, keyed by the referrer, for every customer_acquired
	// that names a referrer_id, and reads it as one more input topic
	// (co-partitioned with the others), so the credit is applied by the
	// task that owns the referrer. Empty (the default) turns the credit
	// off: nothing is written and the referrals rule field stays 0.
	Referrals string `yaml:"referrals"`
}

// For returns the input topic that carries events of type typ: purchases,
// refunds, erasures, subscription and acquisition events on Purchases,
// email and message (every channel) events on Emails, ticket events on
// Tickets, survey events on Surveys when set, else on Tickets, and the
// internal referral_credited on Referrals ("" when it is not set).
func (t Topics) For(typ event.Type) string {
	switch typ {
	case event.Purchase, event.Refund, event.CustomerErased,
		event.SubscriptionStarted, event.SubscriptionRenewed, event.SubscriptionCancelled, event.CustomerAcquired:
		return t.Purchases
	case event.EmailSent, event.EmailOpened, event.EmailClicked,
		event.MessageSent, event.MessageDelivered, event.MessageOpened, event.MessageClicked, event.MessageOptedOut, event.MessageOptedIn:
		return t.Emails
	case event.SurveySent, event.SurveyResponded:
		if t.Surveys != "" {
			return t.Surveys
		}
		return t.Tickets
	case event.ReferralCredited:
		return t.Referrals // "" when the credit is off: no topic carries it
	default:
		return t.Tickets
	}
}

// Inputs returns the input topics, skipping unset ones.
func (t Topics) Inputs() []string {
	var out []string
	for _, n := range []string{t.Purchases, t.Tickets, t.Emails, t.Surveys, t.Referrals} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Config configures the pipeline. Zero values mean the defaults in
// WithDefaults.
type Config struct {
	// Brokers are the Kafka bootstrap addresses (default localhost:9092).
	Brokers []string `yaml:"brokers"`
	// GroupID is the consumer group (default "clvstream").
	GroupID string `yaml:"group_id"`
	// Topics names the topics (defaults clv.purchases, clv.tickets,
	// clv.emails, clv.segment-changes, clv.dead-letter).
	Topics Topics `yaml:"topics"`
	// Partitioner is the producers' partitioner: murmur2 (default, Java
	// clients) or fnv1a (kafka-go Hash, Sarama).
	Partitioner string `yaml:"partitioner"`
	// StartOffset is where a partition with no offset stored in Redis
	// starts: earliest (default) or latest.
	StartOffset string `yaml:"start_offset"`
	// BatchSize is the maximum number of records per batch commit
	// (default 500).
	BatchSize int `yaml:"batch_size"`
	// FlushInterval bounds how long a record waits in a partial batch
	// (default 200ms).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// RescoreInterval is how often a task pops customers due for
	// re-scoring (default 1s).
	RescoreInterval time.Duration `yaml:"rescore_interval"`
	// RescoreBatch is the maximum number of due customers re-scored per
	// tick (default 1000).
	RescoreBatch int `yaml:"rescore_batch"`
	// AllowedLateness is how far behind the latest event time an event may
	// arrive and still be scored in order (default 1h).
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
	// ReplayThreshold: when a task's latest event time is older than this
	// behind the wall clock, the task's clock is the event-time watermark
	// instead of the wall clock (default 24h).
	ReplayThreshold time.Duration `yaml:"replay_threshold"`
	// SessionTimeout and HeartbeatInterval are the consumer-group session
	// settings (defaults 10s and 1s): a dead instance's partitions move
	// after SessionTimeout.
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// RebalanceTimeout is how long members get to rejoin (default 15s).
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// ShutdownTimeout bounds the final flush, outbox drain and group leave
	// on shutdown or rebalance (default 15s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// OwnerLease is how long a silent owner keeps its partitions against a
	// claim from an unrelated generation (default 60s).
	OwnerLease time.Duration `yaml:"owner_lease"`
	// MergeWait bounds how long a task's event-time merge waits for an
	// input partition that is behind before going on without it
	// (default 30s).
	MergeWait time.Duration `yaml:"merge_wait"`
	// StateCacheBytes is the budget of the instance's cache of encoded
	// customer states, shared equally by its tasks (default 8 MiB: about
	// 20,000 customers of the benchmark mix; a hit saves the load round
	// trip, not the decoding, and a larger cache costs about twice its
	// budget in resident memory under Go's default GC).
	StateCacheBytes int `yaml:"state_cache_bytes"`
	// MaxMessageBytes is the largest record the broker accepts
	// (message.max.bytes; default 1000000, below the broker default of
	// 1048588): dead-letter writes are split below it and a dead letter
	// that cannot fit has its value truncated.
	MaxMessageBytes int `yaml:"max_message_bytes"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	str := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"localhost:9092"}
	}
	str(&c.GroupID, "clvstream")
	str(&c.Topics.Purchases, "clv.purchases")
	str(&c.Topics.Tickets, "clv.tickets")
	str(&c.Topics.Emails, "clv.emails")
	str(&c.Topics.SegmentChanges, "clv.segment-changes")
	str(&c.Topics.DeadLetter, "clv.dead-letter")
	str(&c.Partitioner, "murmur2")
	str(&c.StartOffset, "earliest")
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.RescoreBatch == 0 {
		c.RescoreBatch = 1000
	}
	dur(&c.FlushInterval, 200*time.Millisecond)
	dur(&c.RescoreInterval, time.Second)
	dur(&c.AllowedLateness, time.Hour)
	dur(&c.ReplayThreshold, 24*time.Hour)
	dur(&c.SessionTimeout, 10*time.Second)
	dur(&c.HeartbeatInterval, time.Second)
	dur(&c.RebalanceTimeout, 15*time.Second)
	dur(&c.ShutdownTimeout, 15*time.Second)
	dur(&c.OwnerLease, 60*time.Second)
	dur(&c.MergeWait, 30*time.Second)
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1000000
	}
	if c.StateCacheBytes == 0 {
		c.StateCacheBytes = 8 << 20
	}
	return c
}

// Validate reports every invalid field of c (defaults applied), each named
// by its YAML path under "kafka".
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Brokers) == 0 {
		bad("kafka.brokers: at least one broker address is required, e.g. [\"localhost:9092\"]")
	}
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			bad("kafka.brokers[%d]: empty broker address; give host:port", i)
		}
	}
	if _, err := NewPartitioner(c.Partitioner); err != nil {
		bad("kafka.partitioner: %w", err)
	}
	if c.StartOffset != "earliest" && c.StartOffset != "latest" {
		bad("kafka.start_offset: %q must be earliest or latest", c.StartOffset)
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		bad("kafka.batch_size: %d must be between 1 and 100000", c.BatchSize)
	}
	if c.MaxMessageBytes < 4096 {
		bad("kafka.max_message_bytes: %d is below 4096; give the broker's message.max.bytes", c.MaxMessageBytes)
	}
	if c.StateCacheBytes < 0 {
		bad("kafka.state_cache_bytes: %d must be positive (0 means the default, 8 MiB)", c.StateCacheBytes)
	}
	if c.RescoreBatch < 1 {
		bad("kafka.rescore_batch: %d must be at least 1", c.RescoreBatch)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"flush_interval", c.FlushInterval}, {"rescore_interval", c.RescoreInterval}, {"allowed_lateness", c.AllowedLateness},
		{"replay_threshold", c.ReplayThreshold}, {"session_timeout", c.SessionTimeout}, {"heartbeat_interval", c.HeartbeatInterval},
		{"rebalance_timeout", c.RebalanceTimeout}, {"shutdown_timeout", c.ShutdownTimeout}, {"owner_lease", c.OwnerLease},
		{"merge_wait", c.MergeWait},
	} {
		if d.v < 0 {
			bad("kafka.%s: %s must be positive (0 means the default)", d.name, d.v)
		}
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		bad("kafka.heartbeat_interval: %s must be shorter than kafka.session_timeout (%s)", c.HeartbeatInterval, c.SessionTimeout)
	}
	seen := map[string]string{}
	for _, t := range []struct{ field, name string }{
		{"purchases", c.Topics.Purchases}, {"tickets", c.Topics.Tickets}, {"emails", c.Topics.Emails},
		{"segment_changes", c.Topics.SegmentChanges}, {"dead_letter", c.Topics.DeadLetter}, {"surveys", c.Topics.Surveys},
		{"referrals", c.Topics.Referrals},
	} {
		if t.name == "" {
			continue // an optional topic that is not set
		}
		if other, dup := seen[t.name]; dup {
			bad("kafka.topics.%s: %q is also kafka.topics.%s; every topic must be distinct", t.field, t.name, other)
		}
		seen[t.name] = t.field
	}
	return errors.Join(errs...)
}
