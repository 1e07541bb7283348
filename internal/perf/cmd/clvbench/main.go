// Command clvbench runs clvstream's end-to-end benchmark (package
// internal/perf) against a real Kafka broker and Redis and prints the
// figures with the targets of issue 7. Without -brokers and -redis it uses
// CLV_TEST_KAFKA_BROKERS and CLV_TEST_REDIS_ADDR, which
// `scripts/services.sh env` prints.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/clvstream/clvstream/internal/perf"
)

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	m := perf.DefaultMix()
	o := perf.Options{Modes: perf.AllModes()}
	var sets setFlags
	var brokers, modes string
	var httpPort, proxyPort int
	fs := flag.NewFlagSet("clvbench", flag.ExitOnError)
	fs.IntVar(&m.Events, "events", m.Events, "records to produce, duplicates included")
	fs.IntVar(&m.Customers, "customers", m.Customers, "distinct customers")
	fs.IntVar(&o.Partitions, "partitions", 4, "partitions of every topic")
	fs.Float64Var(&m.Purchases, "purchases", m.Purchases, "share of purchase events among the distinct events")
	fs.Float64Var(&m.Refunds, "refunds", m.Refunds, "share of refund events")
	fs.Float64Var(&m.Tickets, "tickets", m.Tickets, "share of ticket events (opened and resolved)")
	fs.Float64Var(&m.Emails, "emails", m.Emails, "share of email events (sent, opened, clicked)")
	fs.Float64Var(&m.Duplicates, "duplicates", m.Duplicates, "redelivered copies, as a share of the distinct events")
	fs.IntVar(&m.HistoryDays, "history-days", m.HistoryDays, "days of history")
	fs.DurationVar(&m.EndBefore, "end-before", m.EndBefore, "how long before now the history ends; the sweep moves the replay clock to about a day past the replay threshold before now, so a longer gap brings more customers due in it")
	fs.Uint64Var(&m.Seed, "seed", m.Seed, "seed of the generated history")
	fs.StringVar(&brokers, "brokers", os.Getenv("CLV_TEST_KAFKA_BROKERS"), "Kafka bootstrap addresses, comma-separated")
	fs.StringVar(&o.RedisAddr, "redis", os.Getenv("CLV_TEST_REDIS_ADDR"), "Redis host:port")
	fs.StringVar(&o.Partitioner, "partitioner", "murmur2", "partitioner of the producers and the service: murmur2 or fnv1a")
	fs.StringVar(&o.Bin, "bin", "", "prebuilt clvstream binary (default: go build ./cmd/clvstream)")
	fs.IntVar(&httpPort, "http-port", 21500, "port of the service's HTTP listener on 127.0.0.1")
	fs.IntVar(&proxyPort, "proxy-port", 21501, "port of the counting Redis relay on 127.0.0.1")
	fs.Var(&sets, "set", "extra clvstream run --set path=value (repeatable), e.g. -set kafka.batch_size=1000")
	fs.BoolVar(&o.NoModel, "no-model", false, "do not publish a fitted model before the run (baseline scores; the service's fitter fits during the run)")
	fs.BoolVar(&o.NoProxy, "no-proxy", false, "connect the service to Redis directly (round trips and Redis traffic are then not measured)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of clvstream run over the first 25 s of ingest to this file, and its heap profile at the end of ingest to FILE.heap, a CPU profile of the first 3 s of the sweep to FILE.sweep (turns http.pprof on)")
	fs.StringVar(&modes, "modes", "plain,json,naive,service", "modes to measure, comma-separated")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "longest wait for the service to settle")
	fs.BoolVar(&o.Keep, "keep", false, "keep the topics and Redis keys after the run")
	_ = fs.Parse(os.Args[1:])

	if brokers == "" || o.RedisAddr == "" {
		fmt.Fprintln(os.Stderr, "clvbench: -brokers and -redis are required; start the services and export their addresses:\n  scripts/services.sh up && eval \"$(scripts/services.sh env)\"")
		os.Exit(2)
	}
	o.Brokers = strings.Split(brokers, ",")
	o.Mix = m
	o.Sets = sets
	o.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	o.ProxyAddr = fmt.Sprintf("127.0.0.1:%d", proxyPort)
	o.Modes = perf.Modes{}
	for _, md := range strings.Split(modes, ",") {
		switch strings.TrimSpace(md) {
		case "plain":
			o.Modes.Plain = true
		case "json":
			o.Modes.JSON = true
		case "naive":
			o.Modes.Naive = true
		case "service":
			o.Modes.Service = true
		default:
			fmt.Fprintf(os.Stderr, "clvbench: -modes: %q is not one of plain, json, naive, service\n", md)
			os.Exit(2)
		}
	}
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := perf.Run(ctx, o)
	if res != nil {
		res.Print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clvbench:", err)
		os.Exit(1)
	}
}
