package backfill

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/pkg/event"
)

// Options says how to read a transactions file.
type Options struct {
	// Format is csv, tsv, whitespace or auto (default: by the first line).
	Format string
	// CustomerCol, DateCol and AmountCol select columns by 1-based number
	// or header name (defaults 1, 2, 3: customer_id, date, amount).
	CustomerCol, DateCol, AmountCol string
	// DateFormat is a Go time layout (default 2006-01-02; 20060102 for
	// CDNOW). Dates without a zone are UTC.
	DateFormat string
	// Currency of the amounts (default USD).
	Currency string
	// Name prefixes order ids (default: the file's base name).
	Name string
}

// Parse reads transactions from r and calls emit for each as a purchase
// record. It fails on the first unreadable line, naming it.
func Parse(r io.Reader, o Options, emit func(event.Record) error) (int, error) {
	if o.DateFormat == "" {
		o.DateFormat = "2006-01-02"
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	exp, ok := event.CurrencyExponent(o.Currency)
	if !ok {
		return 0, fmt.Errorf("--currency %q: not an ISO 4217 currency", o.Currency)
	}
	br := bufio.NewReader(r)
	first, err := br.Peek(4096)
	if err != nil && err != io.EOF {
		return 0, err
	}
	firstLine, _, _ := strings.Cut(string(first), "\n")
	split := splitter(o.Format, firstLine)
	if split == nil {
		return 0, fmt.Errorf("--format %q: must be csv, tsv, whitespace or auto", o.Format)
	}
	lines := bufio.NewScanner(br)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	cols := [3]int{-1, -1, -1}
	n, lineNo := 0, 0
	for lines.Scan() {
		lineNo++
		text := strings.TrimRight(lines.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields, err := split(text)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if cols[0] < 0 {
			header = nil
			if looksLikeHeader(fields) {
				header = fields
			}
			for i, sel := range []string{or(o.CustomerCol, "1"), or(o.DateCol, "2"), or(o.AmountCol, "3")} {
				if cols[i], err = column(sel, header, len(fields)); err != nil {
					return n, err
				}
			}
			if header != nil {
				continue
			}
		}
		get := func(i int) (string, error) {
			if cols[i] >= len(fields) {
				return "", fmt.Errorf("line %d: has %d columns, want at least %d", lineNo, len(fields), cols[i]+1)
			}
			return strings.TrimSpace(fields[cols[i]]), nil
		}
		cust, err := get(0)
		if err != nil {
			return n, err
		}
		ds, err := get(1)
		if err != nil {
			return n, err
		}
		as, err := get(2)
		if err != nil {
			return n, err
		}
		at, err := time.ParseInLocation(o.DateFormat, ds, time.UTC)
		if err != nil {
			return n, fmt.Errorf("line %d: date %q does not match --date-format %q", lineNo, ds, o.DateFormat)
		}
		minor, err := event.ParseDecimalMinor(as, exp)
		if err != nil {
			return n, fmt.Errorf("line %d: amount %q: %v", lineNo, as, err)
		}
		id := fmt.Sprintf("%s:%d", o.Name, lineNo)
		rec := event.Record{
			EventID: id, Type: event.Purchase, CustomerID: cust,
			OccurredAt: at.UTC().Format(time.RFC3339), OrderID: id,
			AmountMinor: &minor, Currency: o.Currency,
		}
		if err := emit(rec); err != nil {
			return n, err
		}
		n++
	}
	return n, lines.Err()
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// splitter picks the field splitter for format, guessing from the first
// line when format is auto or empty.
func splitter(format, firstLine string) func(string) ([]string, error) {
	if format == "" || format == "auto" {
		switch {
		case strings.Contains(firstLine, ","):
			format = "csv"
		case strings.Contains(firstLine, "\t"):
			format = "tsv"
		default:
			format = "whitespace"
		}
	}
	switch format {
	case "whitespace":
		return func(s string) ([]string, error) { return strings.Fields(s), nil }
	case "csv", "tsv":
		sep := ','
		if format == "tsv" {
			sep = '\t'
		}
		return func(s string) ([]string, error) {
			r := csv.NewReader(strings.NewReader(s))
			r.Comma = sep
			return r.Read()
		}
	}
	return nil
}

// looksLikeHeader reports whether no field of the line starts with a digit.
func looksLikeHeader(fields []string) bool {
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f != "" && (f[0] >= '0' && f[0] <= '9') {
			return false
		}
	}
	return true
}

// column resolves a selector (1-based number or header name) to an index.
func column(sel string, header []string, n int) (int, error) {
	if i, err := strconv.Atoi(sel); err == nil {
		if i < 1 || i > n {
			return 0, fmt.Errorf("column %d: the file has %d columns", i, n)
		}
		return i - 1, nil
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), sel) {
			return i, nil
		}
	}
	if header == nil {
		return 0, fmt.Errorf("column %q: the file has no header line; select columns by number", sel)
	}
	return 0, fmt.Errorf("column %q: not in the header %v", sel, header)
}

// Publisher writes purchase records to a topic in batches.
type Publisher struct {
	w     *kafka.Writer
	batch []kafka.Message
}

// NewPublisher returns a publisher to topic on brokers, partitioning keys
// with balancer (the service's partitioner); transport carries TLS and SASL
// (nil: plaintext).
func NewPublisher(brokers []string, topic string, balancer kafka.Balancer, transport kafka.RoundTripper) *Publisher {
	return &Publisher{w: &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: balancer, Transport: transport,
		RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchTimeout: 10 * time.Millisecond,
		MaxAttempts: 10,
	}}
}

// Add queues a record, writing a batch when 1000 are queued.
func (p *Publisher) Add(ctx context.Context, r event.Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p.batch = append(p.batch, kafka.Message{Key: []byte(r.CustomerID), Value: v})
	if len(p.batch) >= 1000 {
		return p.Flush(ctx)
	}
	return nil
}

// Flush writes the queued records and waits for the broker's
// acknowledgement.
func (p *Publisher) Flush(ctx context.Context) error {
	if len(p.batch) == 0 {
		return nil
	}
	if err := p.w.WriteMessages(ctx, p.batch...); err != nil {
		return fmt.Errorf("publish %d records: %w", len(p.batch), err)
	}
	p.batch = p.batch[:0]
	return nil
}

// Close flushes and closes the writer.
func (p *Publisher) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	if cerr := p.w.Close(); err == nil {
		err = cerr
	}
	return err
}

// DefaultName returns the order-id prefix for a file path.
func DefaultName(path string) string { return filepath.Base(path) }
