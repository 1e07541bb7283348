package perf

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// The targets of issue 7, printed beside the figures. A miss is reported,
// never a failure: targets live in benchmarks that print figures.
const (
	TargetVsPlain       = 0.2    // end-to-end records/s ÷ plain consumer, at least
	TargetVsNaive       = 5.0    // end-to-end records/s ÷ naive processor, at least
	TargetBytesCustomer = 400    // Redis bytes per customer, at most
	TargetRoundTrips    = 0.02   // Redis round trips per record, at most
	TargetPeakRSSMB     = 128    // peak RSS with 1,000,000 customers, at most
	TargetSweep         = 50_000 // scheduled re-scores per second, at least
)

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// num formats n with thousands separators.
func num(n float64) string {
	neg := n < 0
	s := strconv.FormatInt(int64(n+0.5*sign(n)), 10)
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

func perRec(d time.Duration, n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d.Nanoseconds())/1e3/float64(n))
}

// Print writes the report: the history, a table of the four modes, and
// the end-to-end figures with their targets.
func (r *Result) Print(w io.Writer) {
	o, h := r.Options, r.History
	fmt.Fprintf(w, "clvstream benchmark  %s UTC, %d CPUs, %s %s/%s\n", time.Now().UTC().Format("2006-01-02 15:04"), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if h != nil {
		fmt.Fprintf(w, "history: %s records for %s customers, occurred_at %s .. %s (a backfill: ends %s before now), %d partitions, %s\n",
			num(float64(r.Records)), num(float64(h.Customers)), h.Start.Format("2006-01-02"), h.MaxEventTime.Format("2006-01-02"),
			o.Mix.EndBefore, o.Partitions, o.Partitioner)
		p := h.ByType[event.Purchase] + h.ByType[event.Refund]
		t := h.ByType[event.TicketOpened] + h.ByType[event.TicketResolved]
		e := h.ByType[event.EmailSent] + h.ByType[event.EmailOpened] + h.ByType[event.EmailClicked]
		fmt.Fprintf(w, "  topics: purchases %s (purchase %s, refund %s), tickets %s (opened %s, resolved %s), emails %s (sent %s, opened %s, clicked %s)\n",
			num(float64(p)), num(float64(h.ByType[event.Purchase])), num(float64(h.ByType[event.Refund])),
			num(float64(t)), num(float64(h.ByType[event.TicketOpened])), num(float64(h.ByType[event.TicketResolved])),
			num(float64(e)), num(float64(h.ByType[event.EmailSent])), num(float64(h.ByType[event.EmailOpened])), num(float64(h.ByType[event.EmailClicked])))
		fmt.Fprintf(w, "  of which %s redelivered duplicates (byte-identical copies); produced in %.1f s (%s records/s)\n",
			num(float64(h.Duplicates)), r.ProduceSecs, num(float64(r.Records)/max(r.ProduceSecs, 1e-9)))
	}
	fmt.Fprintf(w, "Redis %s: %d other clients connected at the start (INFO figures are server-wide and include their load)\n", o.RedisAddr, r.OtherClients)
	fmt.Fprintf(w, "load average (1 min) %s at the start, %s at the end, on %d CPUs: other work on the machine slows every mode\n\n", r.LoadStart, r.LoadEnd, runtime.NumCPU())

	const rowf = "%-64s %10s %8s %10s %10s %10s %10s\n"
	fmt.Fprintf(w, rowf, "mode", "records", "seconds", "records/s", "CPU µs/rec", "Redis CPU", "Redis cmd")
	fmt.Fprintf(w, rowf, "", "", "", "", "", "µs/rec", "/rec")
	row := func(name string, m ModeResult) {
		if !m.Ran {
			fmt.Fprintf(w, rowf, name, "-", "-", "-", "-", "-", "-")
			return
		}
		rc, rcmd := "-", "-"
		if m.Redis != nil && m.Events > 0 {
			rc = fmt.Sprintf("%.2f", m.Redis.CPU*1e6/float64(m.Events))
			rcmd = fmt.Sprintf("%.4f", float64(m.Redis.Commands)/float64(m.Events))
		}
		fmt.Fprintf(w, rowf, name, num(float64(m.Events)), fmt.Sprintf("%.2f", m.Seconds), num(m.Rate()), perRec(m.CPU, m.Events), rc, rcmd)
	}
	row("(1) plain kafka-go consumer (Reader per partition, FetchMessage)", r.Plain)
	row("(2) = (1) + json.Unmarshal into map[string]any", r.JSON)
	row("(3) naive: JSON decode, GET state, update, SET per record", r.Naive)
	row("(4) clvstream run, ready to every offset applied + outbox empty", r.Service.ModeResult)
	fmt.Fprintln(w, "  CPU: the consumer's process (harness for 1-3, the clvstream subprocess for 4, /proc/PID/stat utime+stime)")

	s := r.Service
	if !s.Ran {
		if r.ServiceFailed != nil {
			fmt.Fprintf(w, "\nclvstream run failed: %v\n", r.ServiceFailed)
		}
		return
	}
	fmt.Fprintf(w, "\nclvstream run (4), batch and timing options at their defaults%s:\n", setsNote(o.Sets))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(name, value, target, note string) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, value, target, note)
	}
	line("start-up (exec to /readyz 200)", fmt.Sprintf("%.1f s", s.StartupSeconds), "", "")
	line("end to end (ready to all applied)", fmt.Sprintf("%s records/s", num(s.Rate())), "", fmt.Sprintf("%s records in %.2f s", num(float64(s.Events)), s.Seconds))
	if r.Plain.Ran && r.Plain.Rate() > 0 {
		x := s.Rate() / r.Plain.Rate()
		line("  ÷ (1) plain consumer", fmt.Sprintf("%.3f×", x), fmt.Sprintf("≥ %.1f×  %s", TargetVsPlain, verdict(x >= TargetVsPlain)), "")
	}
	if r.JSON.Ran && r.JSON.Rate() > 0 {
		line("  ÷ (2) consumer + JSON", fmt.Sprintf("%.3f×", s.Rate()/r.JSON.Rate()), "", "")
	}
	if r.Naive.Ran && r.Naive.Rate() > 0 {
		x := s.Rate() / r.Naive.Rate()
		line("  ÷ (3) naive processor", fmt.Sprintf("%.2f×", x), fmt.Sprintf("≥ %.0f×  %s", TargetVsNaive, verdict(x >= TargetVsNaive)), "")
	}
	n := max(s.Events, 1)
	line("process CPU per record", perRec(s.CPU, s.Events)+" µs", "", "ingest window")
	if s.Redis != nil {
		line("Redis CPU per record", fmt.Sprintf("%.2f µs", s.Redis.CPU*1e6/float64(n)), "", "INFO used_cpu_user+used_cpu_sys")
		line("Redis commands per record", fmt.Sprintf("%.4f", float64(s.Redis.Commands)/float64(n)), "", "INFO total_commands_processed (counts the commands a script or MULTI/EXEC runs), harness's own taken out")
		line("  by kind, per 1000 records", "", "", topCalls(s.Redis.Calls, n, 8)+" (INFO commandstats)")
	}
	if o.NoProxy {
		line("Redis round trips per record", "not measured", fmt.Sprintf("≤ %.2f", TargetRoundTrips), "-no-proxy: the service connected to Redis directly")
	} else {
		rt := float64(s.Proxy.RoundTrips) / float64(n)
		line("Redis round trips per record", fmt.Sprintf("%.4f", rt), fmt.Sprintf("≤ %.2f  %s", TargetRoundTrips, verdict(rt <= TargetRoundTrips)),
			fmt.Sprintf("request turns on the service's own connections (%d), counted by a relay between it and Redis: a pipeline or a script call is one", s.Conns))
		line("Redis traffic per record", fmt.Sprintf("%s B up, %s B down", num(float64(s.Proxy.BytesUp)/float64(n)), num(float64(s.Proxy.BytesDown)/float64(n))), "", "bytes through the relay")
		line("  harness CPU per record", perRec(s.HarnessCPU, s.Events)+" µs", "", "the relay and the progress polls, on the same cores as the service (-no-proxy removes the relay)")
	}
	line("catch-up (ingest to nothing due)", fmt.Sprintf("%.1f s", s.CatchUpSeconds), "",
		fmt.Sprintf("%s customers due by the replay clock (latest event − kafka.allowed_lateness) when ingest finished; %s scheduled re-scores",
			num(float64(s.CatchUpDue)), num(s.CatchUpRescored)))
	line("  due by the latest event time", num(float64(s.StrandedDue)), "", "customers with a change due that a replay's clock never reaches, after catch-up")
	if s.SweepRan && s.SweepSeconds > 0 {
		rate := s.SweepRescored / s.SweepSeconds
		sn := max(int64(s.SweepRescored), 1)
		line("sweep", fmt.Sprintf("%s customers/s", num(rate)), fmt.Sprintf("≥ %s  %s", num(TargetSweep), verdict(rate >= TargetSweep)),
			fmt.Sprintf("clock moved %.0f days: %s due, %s scheduled re-scores in %.1f s; per re-score %s µs CPU, %.2f µs Redis CPU, %.4f round trips",
				s.SweepDays, num(float64(s.SweepDue)), num(s.SweepRescored), s.SweepSeconds, perRec(s.SweepCPU, sn), s.SweepRedis*1e6/float64(sn), float64(s.SweepProxy.RoundTrips)/float64(sn)))
	} else {
		line("sweep", "not measured", fmt.Sprintf("≥ %s", num(TargetSweep)), "")
	}
	if s.Settled {
		line("whole run per record", fmt.Sprintf("%s µs CPU", perRec(s.SettleCPU, s.Events)), "",
			fmt.Sprintf("%.2f µs Redis CPU, %.4f round trips; ready to the end of the sweep, %.1f s", s.SettleRedis.CPU*1e6/float64(n), float64(s.SettleProxy.RoundTrips)/float64(n), s.SettleSeconds))
	} else {
		line("settled", "NO", "", "did not finish before -timeout; the figures below are missing")
	}
	customers := float64(max(r.History.Customers, 1))
	var keys int64
	for _, b := range s.KeyBytes {
		keys += b
	}
	bpc := float64(keys) / customers
	line("Redis bytes per customer", fmt.Sprintf("%s B", num(bpc)), fmt.Sprintf("≤ %d  %s", TargetBytesCustomer, verdict(bpc <= TargetBytesCustomer)), "MEMORY USAGE (SAMPLES 0) of the service's keys ÷ customers, at the end: "+keyBreakdown(s.KeyBytes, customers))
	line("  used_memory delta per customer", fmt.Sprintf("%s B", num(float64(s.UsedMemory)/customers)), "", "INFO used_memory, before start to settled (server-wide)")
	rss := float64(s.PeakRSSKB) / 1024
	rssNote := "VmHWM of the subprocess"
	if r.History.Customers < 1_000_000 {
		rssNote += fmt.Sprintf("; the target is for 1,000,000 customers, this run has %s (-customers 1000000)", num(customers))
	}
	line("peak RSS", fmt.Sprintf("%.0f MB", rss), fmt.Sprintf("≤ %d MB  %s", TargetPeakRSSMB, verdict(rss <= TargetPeakRSSMB)), rssNote)
	line("counted by the service", num(s.Counted), "", fmt.Sprintf("clvstream_records_total: applied %s, duplicate %s; dead letters %s; segment-change records relayed %s",
		num(s.Applied), num(s.Duplicates), num(s.DeadLetters), num(s.Changes)))
	_ = tw.Flush()
	if s.Log != "" {
		fmt.Fprintf(w, "  log: %s\n", s.Log)
	}
}

func setsNote(sets []string) string {
	if len(sets) == 0 {
		return ""
	}
	return " except --set " + strings.Join(sets, " --set ")
}

func keyBreakdown(kb map[string]int64, customers float64) string {
	var names []string
	for k := range kb {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return kb[names[i]] > kb[names[j]] })
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %s", k, num(float64(kb[k])/customers)))
	}
	return strings.Join(parts, ", ")
}
