// Command clvstream is the live customer-value engine: it consumes purchase,
// support and email events from Kafka, keeps per-customer state in Redis and
// publishes segment changes. Subcommands:
//
//	clvstream run       the service (config file, CLVSTREAM_* env, --set flags)
//	clvstream topics    create the topics (or --check them)
//	clvstream tail      print the segment changes (or another topic)
//	clvstream demo      in-process broker and store with synthetic traffic
//	clvstream backfill  publish historical orders as purchase events
//	clvstream export    per-customer summary (lifetimes format) from Redis
//	clvstream fit       fit BG/NBD or MBG/NBD and Gamma-Gamma to a file or the live state
//	clvstream score     per-customer predictions as CSV
//	clvstream holdout   predicted versus actual repeat purchases in a holdout period
//	clvstream model     show the model in force, or ask for a refit
//	clvstream loadgen   synthetic traffic to real topics
//	clvstream config validate FILE
//	clvstream --version
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/backfill"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/connect"
	"github.com/clvstream/clvstream/internal/demo"
	"github.com/clvstream/clvstream/internal/export"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

const usage = `usage: clvstream <command> [flags]

commands:
  run        run the service (needs Kafka, Redis and an API token: 'clvstream run -h')
  topics     create the input, segment-change and dead-letter topics, co-partitioned; --check only reports
  tail       print the records of a topic (default: the segment changes), one JSON value per line
  demo       run a self-contained demo (in-process Kafka and Redis, synthetic traffic)
  backfill   publish a transactions file as purchase events
  export     write the per-customer summary (customer_id,frequency,recency,T,monetary_value)
  fit        fit the purchase and spend models to a summary or transactions file, or to Redis (--from-redis)
  score      write per-customer predictions (p_alive, expected purchases, CLV, churn, segment) as CSV
  holdout    predicted versus actual repeat purchases in a holdout period, per calibration frequency
  model      'model show': the model in force; 'model refit': ask the service for a refit now
  loadgen    produce the demo's synthetic traffic (two simulated years) to your Kafka topics
  config     config validate FILE: list every problem of a config file

run 'clvstream <command> -h' for the flags of a command, 'clvstream --version' for the build.
Configuration: docs/configuration.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(ctx, os.Args[2:])
	case "topics":
		err = topicsCmd(ctx, os.Args[2:], os.Stdout)
	case "tail":
		err = tailCmd(ctx, os.Args[2:], os.Stdout)
	case "demo":
		err = demoCmd(ctx, os.Args[2:])
	case "backfill":
		err = backfillCmd(ctx, os.Args[2:])
	case "export":
		err = exportCmd(ctx, os.Args[2:])
	case "config":
		err = configCmd(os.Args[2:])
	case "fit":
		err = fitCmd(ctx, os.Args[2:])
	case "score":
		err = scoreCmd(ctx, os.Args[2:])
	case "holdout":
		err = holdoutCmd(ctx, os.Args[2:])
	case "model":
		err = modelCmd(ctx, os.Args[2:])
	case "loadgen":
		err = loadgenCmd(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	case "--version", "-version", "version":
		fmt.Println(versionString())
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clvstream:", err)
		os.Exit(1)
	}
}

// setFlags collects repeated --set path=value flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// loadConfig registers the common config flags on fs, parses args, loads
// the configuration and routes go-redis's log through zap.
func loadConfig(fs *flag.FlagSet, args []string) (config.Config, error) {
	path := fs.String("config", "", "YAML config file (see docs/configuration.md)")
	var sets setFlags
	fs.Var(&sets, "set", "override an option: --set kafka.brokers=host:9092 (repeatable)")
	level := fs.String("log-level", "", "shorthand for --set log.level=LEVEL (debug, info, warn, error)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if *level != "" {
		sets = append(sets, "log.level="+*level)
	}
	cfg, err := config.Load(*path, os.Environ(), sets)
	if err != nil {
		return cfg, err
	}
	// go-redis has one process-wide logger: route it through zap in the
	// configured format before any command builds a Redis client.
	log, err := obs.NewLogger(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return cfg, err
	}
	connect.SetRedisLogger(log)
	return cfg, nil
}

// runUsage is the help of `clvstream run`: what it needs and where the
// options come from.
const runUsage = `usage: clvstream run [--config FILE] [--set path=value ...] [--log-level LEVEL]

Runs the service: consumes the input topics, keeps the state in Redis,
publishes segment changes, serves /healthz, /readyz, /metrics and the query
API /v1 on http.addr (default :8080).

Required (each with its default, then how to set it):
  Kafka     kafka.brokers (localhost:9092)         CLVSTREAM_KAFKA_BROKERS=kafka-1:9092,kafka-2:9092
            the five topics must exist, the three inputs co-partitioned: create them with 'clvstream topics'
  Redis     redis.addr (localhost:6379)            CLVSTREAM_REDIS_ADDR=redis:6379
  API token http.api_tokens (none: refuses to start) CLVSTREAM_HTTP_API_TOKENS=$(openssl rand -hex 24)
            or http.auth: none to serve /v1 unauthenticated (CLVSTREAM_HTTP_AUTH=none)

Options come from three layers, later ones winning: the YAML file (--config),
environment variables CLVSTREAM_<PATH> (the option path upper-cased, dots as
underscores, e.g. CLVSTREAM_LOG_LEVEL=debug, CLVSTREAM_KAFKA_TOPICS_PURCHASES=shop.orders),
and --set path=value. Every option, its default and meaning:
docs/configuration.md; an example file with all of them:
deployments/clvstream.yaml; check one with 'clvstream config validate FILE'.

flags:
`

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	a, err := app.New(cfg, log, obs.NewRegistry())
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func demoCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	o := demo.Options{}
	fs.StringVar(&o.HTTPAddr, "http", "127.0.0.1:8080", "address of the query API /v1, /metrics, /healthz and /readyz (port 0: any free port)")
	fs.IntVar(&o.Customers, "customers", 400, "synthetic customers")
	fs.IntVar(&o.Days, "days", 730, "simulated days, ending yesterday")
	fs.DurationVar(&o.DayEvery, "day-every", 100*time.Millisecond, "wall time per simulated day (at least: the simulation waits for the pipeline)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the simulated shop: the same seed gives the same events and totals")
	fs.StringVar(&o.Token, "token", "", "bearer token of the query API (default: a random one, printed)")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return demo.Run(ctx, o, os.Stdout)
}

func loadgenCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ExitOnError)
	var o demo.LoadOptions
	fs.IntVar(&o.Customers, "customers", 1000, "simulated customers")
	fs.DurationVar(&o.DayEvery, "day-every", 100*time.Millisecond, "wall time per simulated day (two simulated years in total)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the simulated shop (the demo's default: 1)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	if _, o.Transport, err = connect.Kafka(cfg.KafkaSecurity); err != nil {
		return err
	}
	return demo.Load(ctx, cfg, o, log, os.Stderr)
}

func backfillCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backfill", flag.ExitOnError)
	file := fs.String("transactions", "", "transactions file (CSV with header, TSV, or whitespace-separated like CDNOW); - for standard input")
	var o backfill.Options
	fs.StringVar(&o.Format, "format", "auto", "csv, tsv, whitespace or auto")
	fs.StringVar(&o.CustomerCol, "customer-col", "1", "customer id column: 1-based number or header name")
	fs.StringVar(&o.DateCol, "date-col", "2", "date column: 1-based number or header name")
	fs.StringVar(&o.AmountCol, "amount-col", "3", "amount column (decimal, major units): 1-based number or header name")
	fs.StringVar(&o.DateFormat, "date-format", "2006-01-02", "Go time layout of the dates (CDNOW: 20060102)")
	fs.StringVar(&o.Currency, "currency", "USD", "ISO 4217 currency of the amounts")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--transactions FILE is required")
	}
	var in io.Reader
	if *file == "-" {
		// Order ids are NAME:LINE; from standard input the name is a hash of
		// the content, so the same input sent twice counts once and
		// different inputs do not collide.
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		sum := sha256.Sum256(b)
		o.Name = "stdin-" + hex.EncodeToString(sum[:6])
		in = bytes.NewReader(b)
	} else {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Name = backfill.DefaultName(*file)
		in = f
	}
	part, err := stream.NewPartitioner(cfg.Kafka.Partitioner)
	if err != nil {
		return err
	}
	_, transport, err := connect.Kafka(cfg.KafkaSecurity)
	if err != nil {
		return err
	}
	pub := backfill.NewPublisher(cfg.Kafka.Brokers, cfg.Kafka.Topics.Purchases, part, transport)
	start := time.Now()
	n, err := backfill.Parse(in, o, func(r event.Record) error { return pub.Add(ctx, r) })
	if cerr := pub.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w (%d records published before the error)", *file, err, n)
	}
	fmt.Fprintf(os.Stderr, "published %d purchase events to %s in %s\n", n, cfg.Kafka.Topics.Purchases, time.Since(start).Round(time.Millisecond))
	return nil
}

func exportCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	asOf := fs.String("as-of", "", "date (YYYY-MM-DD): purchases on or before it count; default today")
	unitName := fs.String("time-unit", "week", "day or week")
	format := fs.String("format", "summary", "summary (the only format so far)")
	out := fs.String("output", "-", "output file (- for stdout)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *format != "summary" {
		return fmt.Errorf("--format %q: only summary is supported", *format)
	}
	unit, err := export.Unit(*unitName)
	if err != nil {
		return err
	}
	when := time.Now().UTC().Truncate(24 * time.Hour)
	if *asOf != "" {
		if when, err = time.Parse("2006-01-02", *asOf); err != nil {
			return fmt.Errorf("--as-of %q: want YYYY-MM-DD", *asOf)
		}
	}
	rdb, err := connect.Redis(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	exp, _ := event.CurrencyExponent(cfg.Input.BaseCurrency)
	per := 1.0
	for i := 0; i < exp; i++ {
		per *= 10
	}
	rows, err := export.Summary(ctx, state.New(rdb, cfg.Redis.KeyPrefix, cfg.Kafka.OwnerLease), when, unit, per)
	if err != nil {
		return err
	}
	w := os.Stdout
	if *out != "-" {
		if w, err = os.Create(*out); err != nil {
			return err
		}
		defer w.Close()
	}
	return export.WriteCSV(w, rows)
}

func configCmd(args []string) error {
	if len(args) != 2 || args[0] != "validate" {
		return errors.New("usage: clvstream config validate FILE")
	}
	if _, err := config.Load(args[1], nil, nil); err != nil {
		if prefix := "config " + args[1] + ":\n"; strings.HasPrefix(err.Error(), prefix) {
			return fmt.Errorf("%s is invalid:\n%s", args[1], strings.TrimPrefix(err.Error(), prefix))
		}
		return fmt.Errorf("%s is invalid:\n%w", args[1], err)
	}
	fmt.Printf("%s is valid\n", args[1])
	return nil
}
