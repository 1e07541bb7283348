package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/stream"
)

// createTopics creates the topics with the given partition count and waits
// until every partition has a leader.
func createTopics(ctx context.Context, brokers []string, partitions int, names ...string) error {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("dial kafka %s: %w", brokers[0], err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	cc, err := kafka.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("dial kafka controller: %w", err)
	}
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(names))
	for _, n := range names {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: 1})
	}
	if err := cc.CreateTopics(cfgs...); err != nil {
		return fmt.Errorf("create topics %v: %w", names, err)
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		ok := err == nil && len(md.Topics) == len(names)
		if ok {
			for _, tp := range md.Topics {
				if tp.Error != nil || len(tp.Partitions) != partitions {
					ok = false
				}
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topics %v have no leaders after 30s: %v", names, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deleteTopics deletes the run's topics (best effort).
func deleteTopics(ctx context.Context, brokers []string, names ...string) error {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	resp, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
	if err != nil {
		return err
	}
	var errs []error
	for t, e := range resp.Errors {
		if e != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, e))
		}
	}
	return errors.Join(errs...)
}

// endOffsets returns the high watermark of every partition of topics.
func endOffsets(ctx context.Context, brokers []string, partitions int, topics ...string) (map[string][]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range topics {
		for p := 0; p < partitions; p++ {
			req.Topics[t] = append(req.Topics[t], kafka.LastOffsetOf(p))
		}
	}
	resp, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := map[string][]int64{}
	for _, t := range topics {
		ends := make([]int64, partitions)
		for _, po := range resp.Topics[t] {
			if po.Error != nil {
				return nil, fmt.Errorf("end offset of %s/%d: %w", t, po.Partition, po.Error)
			}
			ends[po.Partition] = po.LastOffset
		}
		out[t] = ends
	}
	return out, nil
}

// produce writes the history to its topics, keyed by customer id with the
// service's partitioner, one writer per topic, acknowledged by all
// replicas.
func produce(ctx context.Context, brokers []string, part stream.Partitioner, topics stream.Topics, h *History) error {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, job := range []struct {
		topic string
		recs  []gen
	}{{topics.Purchases, h.Purchases}, {topics.Tickets, h.Tickets}, {topics.Emails, h.Emails}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: job.topic, Balancer: part,
				RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 2000, BatchBytes: 4 << 20}
			defer w.Close()
			const chunk = 20000
			msgs := make([]kafka.Message, 0, chunk)
			for off := 0; off < len(job.recs); off += chunk {
				msgs = msgs[:0]
				for _, g := range job.recs[off:min(off+chunk, len(job.recs))] {
					msgs = append(msgs, kafka.Message{Key: []byte(CustomerID(g.cust)), Value: g.Value()})
				}
				if err := w.WriteMessages(ctx, msgs...); err != nil {
					errs[i] = fmt.Errorf("produce to %s: %w", job.topic, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// partitionReader reads one partition from its first offset to end,
// calling fn for every record, with the service's reader settings.
func partitionReader(ctx context.Context, brokers []string, topic string, p int, end int64, fn func(kafka.Message) error) error {
	if end == 0 {
		return nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p,
		MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 250 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return err
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("fetch %s/%d: %w", topic, p, err)
		}
		if err := fn(m); err != nil {
			return err
		}
		if m.Offset+1 >= end {
			return nil
		}
	}
}

// consume reads every record of the topics, one reader per partition, all
// concurrently, and returns the records seen. With decode it also
// json.Unmarshals each value into a map[string]any.
func consume(ctx context.Context, brokers []string, ends map[string][]int64, decode bool) (int64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for topic, parts := range ends {
		for p, end := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local int64
				err := partitionReader(ctx, brokers, topic, p, end, func(m kafka.Message) error {
					if decode {
						var v map[string]any
						if err := json.Unmarshal(m.Value, &v); err != nil {
							return fmt.Errorf("decode %s/%d@%d: %w", topic, p, m.Offset, err)
						}
					}
					local++
					return nil
				})
				n.Add(local)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return n.Load(), errors.Join(errs...)
}
