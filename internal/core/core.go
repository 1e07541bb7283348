package core

import (
	"errors"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Config is what a Processor needs besides its inputs. Every field is
// required except the durations, whose zero is "none".
type Config struct {
	// Decoder decodes and validates input records.
	Decoder *event.Decoder
	// Scorer scores customers.
	Scorer *scoring.Scorer
	// TopicFor names the input topic that must carry events of a type.
	TopicFor func(event.Type) string
	// PartitionOf is the partition of a customer id under the producers'
	// partitioner, and Partitioner that partitioner's name (for messages).
	PartitionOf func(customerID string) int
	Partitioner string
	// AllowedLateness is how far behind the latest event time the replay
	// clock stays, so records up to that late are still scored in order.
	AllowedLateness time.Duration
	// ReplayThreshold: while the latest event time is older than this
	// behind the wall clock, the clock is event time (a replay).
	ReplayThreshold time.Duration
	// Referrals turns on the referral credit: a customer_acquired naming
	// a referrer adds a referral_credited record for the referrer to the
	// outbox (DestReferrals). Off when kafka.topics.referrals is not set.
	Referrals bool
}

// Processor is the pure processing core of one service: it holds only
// immutable configuration and is safe for concurrent use by every task.
type Processor struct {
	Format
	cfg    Config
	margin float64
}

// New returns a Processor for cfg.
func New(cfg Config) (*Processor, error) {
	if cfg.Decoder == nil || cfg.Scorer == nil || cfg.TopicFor == nil || cfg.PartitionOf == nil {
		return nil, errors.New("core: Decoder, Scorer, TopicFor and PartitionOf are required")
	}
	sc := cfg.Scorer.Config()
	return &Processor{cfg: cfg, margin: sc.DefaultMargin, Format: NewFormat(sc.MinorPerMajor, cfg.Decoder.BaseCurrency())}, nil
}

// Record is one input record as fetched from Kafka.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []event.Header
}

// Decoded is a Record with its decoded event, or the reason it is a dead
// letter (Err non-nil).
type Decoded struct {
	Record
	Event event.Event
	Err   *event.Error
}

// At is the record's event time (Unix ms); a dead letter has none (0).
func (d *Decoded) At() int64 {
	if d.Err != nil {
		return 0
	}
	return d.Event.OccurredAt.UnixMilli()
}

// Decode decodes r and checks its routing: the key must be the customer id,
// the customer must hash to the record's partition under the producers'
// partitioner, and the event type must belong to the record's topic. It is
// pure and safe to call from the fetching goroutines.
func (p *Processor) Decode(r Record) Decoded {
	d := Decoded{Record: r}
	ev, err := p.cfg.Decoder.Decode(r.Value, r.Headers)
	if err != nil {
		var e *event.Error
		if !errors.As(err, &e) {
			e = event.Errorf(event.ReasonMalformed, "", "%v", err)
		}
		d.Err = e
		return d
	}
	d.Event = ev
	switch {
	case ev.Type.Internal() && p.cfg.TopicFor(ev.Type) != r.Topic:
		d.Err = event.Errorf(event.ReasonMisrouted, "type", "%s is an internal event that clvstream itself writes to kafka.topics.referrals; producers must not send it (it is not accepted on %q)", ev.Type, r.Topic)
	case len(r.Key) == 0:
		d.Err = event.Errorf(event.ReasonMisrouted, "key", "the record has no key; key every record by its customer_id so it reaches the partition that owns the customer")
	case string(r.Key) != ev.CustomerID:
		d.Err = event.Errorf(event.ReasonInvalidField, "key", "the record key differs from customer_id; key records by customer_id")
	case p.cfg.TopicFor(ev.Type) != r.Topic:
		d.Err = event.Errorf(event.ReasonMisrouted, "type", "a %s event belongs on topic %q, not %q", ev.Type, p.cfg.TopicFor(ev.Type), r.Topic)
	default:
		if want := p.cfg.PartitionOf(ev.CustomerID); want != r.Partition {
			d.Err = event.Errorf(event.ReasonMisrouted, "customer_id", "customer hashes to partition %d under %s but the record is on partition %d; produce with the %s partitioner", want, p.cfg.Partitioner, r.Partition, p.cfg.Partitioner)
		}
	}
	return d
}

// Clock is a partition's time: the latest event time applied and the
// scoring clock, both Unix ms. Now never goes back.
type Clock struct {
	MaxEvent int64
	Now      int64
}

// replay reports whether a clock whose latest event time is maxEvent is a
// replay of history as of wall.
func (p *Processor) replay(maxEvent int64, wall time.Time) bool {
	return maxEvent > 0 && wall.UnixMilli()-maxEvent > p.cfg.ReplayThreshold.Milliseconds()
}

// afterRecord is the clock once a record of event time at is applied.
func (p *Processor) afterRecord(c Clock, at int64, wall time.Time) Clock {
	c.MaxEvent = max(c.MaxEvent, at)
	if p.replay(c.MaxEvent, wall) {
		c.Now = max(c.Now, c.MaxEvent-p.cfg.AllowedLateness.Milliseconds())
	} else {
		c.Now = max(c.Now, wall.UnixMilli())
	}
	return c
}

// idle is the clock of a caught-up input: in a replay, the partition's
// latest event time (no later record can come from its history; not
// another partition's, which moves with that task's progress); else the
// wall clock. Before the first event it does not move.
func (p *Processor) idle(c Clock, wall time.Time) Clock {
	if c.MaxEvent == 0 {
		// No event yet: no clock. The wall clock here would stay (the
		// clock never goes back) and stamp a backfill that starts later.
		return c
	}
	if p.replay(c.MaxEvent, wall) {
		c.Now = max(c.Now, c.MaxEvent)
	} else {
		c.Now = max(c.Now, wall.UnixMilli())
	}
	return c
}

// Replay reports whether c is a replay of history as of wall.
func (p *Processor) Replay(c Clock, wall time.Time) bool { return p.replay(c.MaxEvent, wall) }

// Target is the clock Process would reach with recs (and Idle, if idle):
// the instant up to which the shell must load timers.
func (p *Processor) Target(c Clock, recs []Decoded, idle bool, wall time.Time) int64 {
	for i := range recs {
		if recs[i].Err == nil {
			c = p.afterRecord(c, recs[i].At(), wall)
		}
	}
	if idle {
		c = p.idle(c, wall)
	}
	return c.Now
}

// Timer is a stored due time: customer ID must be re-scored at Due (Unix
// ms).
type Timer struct {
	ID  string
	Due int64
}

// Input is one call's worth of a partition's work.
type Input struct {
	// Records are the next records in event-time merge order.
	Records []Decoded
	// States holds the state of every customer of Records and Timers;
	// a customer missing from it starts empty.
	States map[string]*customer.State
	// Timers are the stored due times at or before Horizon (any order),
	// and Dues the known stored due times of other loaded customers
	// (a customer in neither has an unknown due, which is then written).
	Timers  []Timer
	Horizon int64
	Dues    map[string]int64
	// Applied is the next offset to apply per input topic (-1 or absent:
	// none applied yet).
	Applied map[string]int64
	Clock   Clock
	// Wall is the wall clock of the call; Model the model in force (nil:
	// baseline).
	Wall  time.Time
	Model *model.Record
	// Idle advances the clock as for a caught-up input after the records.
	Idle bool
}

// OffsetRange is the move of one topic's applied offset: From as stored
// before (-1 for none), To the next offset to apply.
type OffsetRange struct{ From, To int64 }

// Destination is the topic an outbox record is published to.
type Destination uint8

// The destinations of outbox records.
const (
	// DestSegmentChanges is kafka.topics.segment_changes: segment, tier
	// and milestone changes (the zero value).
	DestSegmentChanges Destination = iota
	// DestReferrals is kafka.topics.referrals: referral credits for the
	// referrer's partition.
	DestReferrals
)

// OutboxRecord is a record for the outbox relay: key, value and the topic
// it goes to.
type OutboxRecord struct {
	Key   string
	Value []byte
	Dest  Destination
}

// Outcome counts records by topic, event type and what happened to them
// (applied, duplicate, ignored_erased, dead_lettered, replayed).
type Outcome struct{ Topic, Type, Outcome string }

// Change is a published change, for metrics: a segment change (From, To,
// Cause) or, with Cause empty, a tier change (Tier) and milestones.
type Change struct {
	From, To   string
	Cause      event.Cause
	Tier       [2]string
	Milestones int
}

// Output is the result of Process.
type Output struct {
	// Consumed is the number of Input.Records processed; the rest wait
	// for the timers after Horizon (Blocked).
	Consumed int
	Blocked  bool
	Offsets  map[string]OffsetRange
	// States are the states to write, Due the due times to store (0
	// removes), Outbox the records to publish in order.
	States []*customer.State
	Due    map[string]int64
	Outbox []OutboxRecord
	// Dead are the records for the dead-letter topic.
	Dead  []Decoded
	Clock Clock
	// Outcomes, Changes and Rescored ([cause] = {changed, unchanged})
	// are for metrics.
	Outcomes map[Outcome]int
	Changes  []Change
	Rescored map[event.Cause]*[2]int
	// Refunds counts applied refunds (and purchases that released pending
	// refunds) by how they counted: counted, capped, pending;
	// RefundsReleased the pending refunds attached to an arriving order.
	Refunds         map[string]int
	RefundsReleased int
}

// Empty reports whether o writes nothing.
func (o *Output) Empty() bool {
	return len(o.Offsets) == 0 && len(o.States) == 0 && len(o.Due) == 0 && len(o.Outbox) == 0
}

func exponent(minorPerMajor float64) int {
	d := 0
	for v := minorPerMajor; v >= 10; v /= 10 {
		d++
	}
	return d
}
