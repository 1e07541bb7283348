package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/connect"
)

// tailCmd prints the records of one of the configured topics, one JSON
// value per line: by default the segment changes, from the beginning.
func tailCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ExitOnError)
	which := fs.String("topic", "segment_changes", "which topic of kafka.topics: segment_changes, dead_letter, purchases, tickets, emails, or surveys or referrals (when set)")
	from := fs.String("from", "beginning", "beginning (every stored record) or end (only new records)")
	max := fs.Int("max", 0, "stop after this many records (0: no limit)")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: until Ctrl-C); with --max, fewer records than --max by then is an error")
	meta := fs.Bool("meta", false, "print each record as {partition, offset, key, headers, value} (the dead-letter reason is in the headers)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: clvstream tail [--topic segment_changes] [--from beginning|end] [--max N] [--timeout D] [--meta] [--config FILE] [--set ...]

Prints the records of a topic of kafka.topics, every partition, one JSON value
per line, e.g. the segment changes as marketing automation sees them:
  clvstream tail --max 1 --timeout 30s
  clvstream tail --topic dead_letter --meta

flags:
`)
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	t := cfg.Kafka.Topics
	topic := map[string]string{"segment_changes": t.SegmentChanges, "dead_letter": t.DeadLetter,
		"purchases": t.Purchases, "tickets": t.Tickets, "emails": t.Emails, "surveys": t.Surveys, "referrals": t.Referrals}[*which]
	if topic == "" && *which == "surveys" {
		return errors.New("--topic surveys: kafka.topics.surveys is not set (survey events go on the tickets topic then: --topic tickets)")
	}
	if topic == "" && *which == "referrals" {
		return errors.New("--topic referrals: kafka.topics.referrals is not set (referral credits are off: nothing is written to a referrals topic)")
	}
	if topic == "" {
		return fmt.Errorf("--topic %q: must be segment_changes, dead_letter, purchases, tickets, emails, surveys or referrals (the keys of kafka.topics)", *which)
	}
	start := kafka.FirstOffset
	switch *from {
	case "beginning":
	case "end":
		start = kafka.LastOffset
	default:
		return fmt.Errorf("--from %q: must be beginning or end", *from)
	}
	dialer, transport, err := connect.Kafka(cfg.KafkaSecurity)
	if err != nil {
		return err
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Timeout: 15 * time.Second, Transport: transport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("kafka at %s: read metadata of %s: %w", strings.Join(cfg.Kafka.Brokers, ","), topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return fmt.Errorf("topic %s does not exist: create it with clvstream topics", topic)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	msgs := make(chan kafka.Message)
	var wg sync.WaitGroup
	for _, p := range md.Topics[0].Partitions {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: topic, Partition: p.ID, Dialer: dialer,
			MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 250 * time.Millisecond})
		if err := r.SetOffset(start); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				select {
				case msgs <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	defer func() { stop(); wg.Wait() }() // readers end with the context
	n := 0
	for *max == 0 || n < *max {
		select {
		case m := <-msgs:
			if err := printRecord(out, m, *meta); err != nil {
				return err
			}
			n++
		case <-ctx.Done():
			stop()
			if *max > 0 && n < *max && *timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%d of %d records from %s within %s", n, *max, topic, *timeout)
			}
			return nil
		}
	}
	return nil
}

// printRecord writes m's value (or, with meta, its envelope) as one line.
func printRecord(out io.Writer, m kafka.Message, meta bool) error {
	if !meta {
		_, err := fmt.Fprintf(out, "%s\n", m.Value)
		return err
	}
	headers := map[string]string{}
	for _, h := range m.Headers {
		headers[h.Key] = string(h.Value)
	}
	var value any = string(m.Value)
	if json.Valid(m.Value) {
		value = json.RawMessage(m.Value)
	}
	b, err := json.Marshal(struct {
		Partition int               `json:"partition"`
		Offset    int64             `json:"offset"`
		Key       string            `json:"key"`
		Headers   map[string]string `json:"headers,omitempty"`
		Value     any               `json:"value"`
	}{m.Partition, m.Offset, string(m.Key), headers, value})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}
