package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// persona is a simulated customer's behaviour.
type persona struct {
	id        string
	joinDay   int     // first purchase day
	gapDays   float64 // mean days between purchases
	stopDay   int     // stops buying after this day (large: never)
	basket    int64   // mean basket in cents
	openRate  float64 // chance to open an email
	oneTime   bool
	purchases int

	// Acquisition: channel, referring customer, cost (cents).
	channel, referrer string
	cost              int64
	// Subscribers (sub) hold a monthly plan from their join day; each
	// period ends in a cancellation with probability theta, decided when
	// it starts (cancelDay, −1 while renewing). renewals counts them.
	sub       bool
	plan      string
	price     int64
	theta     float64
	renewals  int
	cancelDay int
	ended     bool
}

// wave is the records of one simulated hour of one day: all of one type,
// on one topic, at one instant, at most one per customer. Producing a day
// wave by wave, each applied before the next (Options.sync), makes the
// pipeline's view of the day independent of how its readers and batches
// happen to interleave: every record of a wave is scored at the same
// event-time clock, and no customer's two records can be split apart.
type wave struct {
	at    time.Time
	topic string
	msgs  []kafka.Message
}

// The hours of a simulated day at which each kind of record happens.
const (
	hourEmailSent    = 8
	hourEmailOpened  = 9
	hourMessageSent  = 16
	hourDelivered    = 17
	hourMessageSeen  = 18
	hourOptOut       = 19
	hourPurchase     = 10
	hourTicketOpened = 11
	hourSurveySent   = 12
	hourSurveyAnswer = 13
	hourTicketClosed = 15
	hourRefund       = 20
	hourAcquired     = 7
	hourSubscription = 14
)

// generator produces synthetic events on an accelerated clock. Everything
// it produces is a function of the seed, the number of customers and the
// number of days: the same options give the same records.
type generator struct {
	o     Options
	cfg   config.Config
	start time.Time
	rnd   *rand.Rand
	// srnd draws the survey events, apart from rnd so that adding them
	// left the purchase, email and ticket sequences of a seed unchanged.
	srnd *rand.Rand
	// subRnd drives the acquisition and subscription behaviour, apart from
	// rnd and srnd, so the other records of a seed stay those of the
	// releases before subscriptions.
	subRnd  *rand.Rand
	people  []*persona
	writers map[string]*kafka.Writer
	// sync, when set, is called after every wave and every day (wave nil)
	// and returns when the pipeline has caught up.
	sync func(ctx context.Context, produced int, w *wave) error

	mu         sync.Mutex
	day        int // days completed
	count      int // records produced
	malformed  int // records truncated on purpose
	joined     int // customers with a first purchase so far
	repeaters  int // customers with two purchases or more
	finished   bool
	lastWaveAt time.Time
}

func newGenerator(o Options, cfg config.Config) *generator {
	seed := o.Seed
	g := &generator{o: o, cfg: cfg, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		srnd: rand.New(rand.NewPCG(seed, seed^0x5bd1e9955bd1e995)), writers: map[string]*kafka.Writer{}}
	// The simulation covers the o.Days days before today, so that its last
	// events (yesterday evening) are in the past: none is dead-lettered as
	// clock_skew, and the service's event-time clock stays ahead of the
	// wall clock's reach (see Options).
	g.start = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -o.Days)
	part, _ := stream.NewPartitioner(cfg.Kafka.Partitioner)
	for _, topic := range cfg.Kafka.Topics.Inputs() {
		g.writers[topic] = &kafka.Writer{Addr: kafka.TCP(cfg.Kafka.Brokers...), Topic: topic, Balancer: part,
			RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 5000}
	}
	joinWindow := min(120, max(1, o.Days/3))
	for i := 0; i < o.Customers; i++ {
		p := &persona{id: fmt.Sprintf("cust-%04d", i+1), joinDay: g.rnd.IntN(joinWindow), stopDay: 1 << 30,
			basket: 2000 + g.rnd.Int64N(8000), openRate: 0.1 + 0.6*g.rnd.Float64()}
		switch r := g.rnd.Float64(); {
		case r < 0.25: // frequent buyers
			p.gapDays = 6 + 8*g.rnd.Float64()
		case r < 0.6: // occasional
			p.gapDays = 30 + 40*g.rnd.Float64()
		default: // one-time
			p.oneTime = true
		}
		if !p.oneTime && g.rnd.Float64() < 0.4 { // some stop buying
			p.stopDay = p.joinDay + 40 + g.rnd.IntN(200)
		}
		if g.rnd.Float64() < 0.1 {
			p.basket *= 8 // big spenders
		}
		g.people = append(g.people, p)
	}
	g.subRnd = rand.New(rand.NewPCG(seed^0x5b5c, seed+0x243f6a8885a308d3))
	for i, p := range g.people {
		g.acquisition(p, i)
		if g.subRnd.Float64() < 0.2 {
			p.sub, p.cancelDay = true, -1
			p.plan, p.price = "basic", 999
			if g.subRnd.IntN(3) == 0 {
				p.plan, p.price = "pro", 2999
			}
			// Heterogeneous cancellation probabilities per month, as the
			// renewal model (sBG) assumes.
			p.theta = []float64{0.03, 0.08, 0.2, 0.45}[g.subRnd.IntN(4)]
		}
	}
	return g
}

// acquisition draws how persona i was acquired: organic, paid search or
// social (with a cost), or referred by a customer who joined earlier.
func (g *generator) acquisition(p *persona, i int) {
	r := g.subRnd
	switch x := r.Float64(); {
	case x < 0.4:
		p.channel = "organic"
	case x < 0.65:
		p.channel, p.cost = "paid_search", 2000+r.Int64N(4000)
	case x < 0.8:
		p.channel, p.cost = "social", 1000+r.Int64N(2000)
	default:
		p.channel = "referral"
		for tries := 0; tries < 5 && i > 0; tries++ {
			if q := g.people[r.IntN(i)]; q.joinDay < p.joinDay {
				p.referrer = q.id
				break
			}
		}
		if p.referrer == "" {
			p.channel = "organic"
		}
	}
}

// periodDay is the day of the k-th period boundary of a monthly
// subscription started on day start (a mean Gregorian month).
func periodDay(start, k int) int {
	return start + int(float64(k)*30.436875+0.5)
}

// progress is a consistent snapshot of the generator.
type progress struct {
	sim                      time.Time // the simulated date reached
	day, produced, malformed int
	joined, repeaters        int
	finished                 bool
	lastEventAt              time.Time
}

func (g *generator) progress() progress {
	g.mu.Lock()
	defer g.mu.Unlock()
	return progress{sim: g.start.AddDate(0, 0, max(g.day-1, 0)), day: g.day, produced: g.count, malformed: g.malformed,
		joined: g.joined, repeaters: g.repeaters, finished: g.finished, lastEventAt: g.lastWaveAt}
}

// run emits one simulated day per DayEvery (or slower, when sync waits)
// until ctx ends or the o.Days days are done.
func (g *generator) run(ctx context.Context, log *zap.Logger) error {
	defer func() {
		for _, w := range g.writers {
			_ = w.Close()
		}
	}()
	for day := 0; day < g.o.Days; day++ {
		begin := time.Now()
		for _, w := range g.events(day) {
			if err := g.writers[w.topic].WriteMessages(ctx, w.msgs...); err != nil {
				if ctx.Err() == nil {
					log.Warn("demo generator write", zap.Error(err))
				}
				return err
			}
			g.mu.Lock()
			g.count += len(w.msgs)
			g.lastWaveAt = w.at
			n := g.count
			g.mu.Unlock()
			if g.sync != nil {
				if err := g.sync(ctx, n, &w); err != nil {
					return err
				}
			}
		}
		g.mu.Lock()
		g.day = day + 1
		n := g.count
		g.mu.Unlock()
		if g.sync != nil {
			if err := g.sync(ctx, n, nil); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(begin.Add(g.o.DayEvery))):
		}
	}
	g.mu.Lock()
	g.finished = true
	g.mu.Unlock()
	return nil
}

// survey adds an NPS survey every 60 days after a customer joined, and
// their answer (more often from engaged customers): customers about to
// stop buying tend to be detractors, so the survey signals carry churn
// information, as the playbooks expect.
func (g *generator) survey(add func(int, string, event.Record), p *persona, day int) {
	if day == p.joinDay || (day-p.joinDay)%60 != 30 {
		return
	}
	topic := g.cfg.Kafka.Topics.For(event.SurveySent)
	id := fmt.Sprintf("%s-nps%d", p.id, day)
	add(hourSurveySent, topic, event.Record{EventID: id + "-s", Type: event.SurveySent, CustomerID: p.id, SurveyID: id, Kind: "nps"})
	if g.srnd.Float64() >= 0.3+0.5*p.openRate {
		return
	}
	score := 6 + g.srnd.IntN(5)
	if day > p.stopDay-45 {
		score = g.srnd.IntN(7)
	}
	rec := event.Record{EventID: id + "-r", Type: event.SurveyResponded, CustomerID: p.id, SurveyID: id, Kind: "nps", Score: &score}
	if g.srnd.IntN(3) == 0 {
		n := 20 + g.srnd.IntN(200)
		rec.CommentLength = &n
	}
	add(hourSurveyAnswer, topic, rec)
}

// message adds an SMS or push campaign message every 14 days, its
// delivery, a click (SMS) or open (push) by engaged customers, and now
// and then an opt-out, more often from customers about to stop buying.
func (g *generator) message(add func(int, string, event.Record), p *persona, day int) {
	if (day+p.joinDay)%14 != 3 {
		return
	}
	topic := g.cfg.Kafka.Topics.For(event.MessageSent)
	ch, seen := event.ChannelSMS, event.MessageClicked
	if g.srnd.IntN(2) == 0 {
		ch, seen = event.ChannelPush, event.MessageOpened
	}
	id := fmt.Sprintf("%s-%s%d", p.id, ch, day)
	add(hourMessageSent, topic, event.Record{EventID: id + "-s", Type: event.MessageSent, CustomerID: p.id, Channel: ch, MessageID: id, Campaign: "app-" + ch})
	add(hourDelivered, topic, event.Record{EventID: id + "-d", Type: event.MessageDelivered, CustomerID: p.id, Channel: ch, MessageID: id})
	if day <= p.stopDay && g.srnd.Float64() < p.openRate {
		add(hourMessageSeen, topic, event.Record{EventID: id + "-x", Type: seen, CustomerID: p.id, Channel: ch, MessageID: id, Campaign: "app-" + ch})
	}
	quit := 0.01
	if day > p.stopDay-30 {
		quit = 0.08
	}
	if g.srnd.Float64() < quit {
		add(hourOptOut, topic, event.Record{EventID: id + "-u", Type: event.MessageOptedOut, CustomerID: p.id, Channel: ch})
	}
}

// subscriptionEvents emits persona p's acquisition and subscription
// records of day (on the purchases topic, which carries them).
func (g *generator) subscriptionEvents(p *persona, day int, add func(int, event.Record)) {
	if day == p.joinDay {
		r := event.Record{EventID: p.id + "-acq", Type: event.CustomerAcquired, CustomerID: p.id, Channel: p.channel, ReferrerID: p.referrer}
		if p.cost > 0 {
			r.AcquisitionCost, r.Currency = fmt.Sprintf("%d.%02d", p.cost/100, p.cost%100), "USD"
		}
		if p.channel != "organic" && p.channel != "referral" {
			r.Campaign = "spring-" + p.channel
		}
		add(hourAcquired, r)
	}
	if !p.sub || p.ended {
		return
	}
	price := fmt.Sprintf("%d.%02d", p.price/100, p.price%100)
	sid := p.id + "-sub"
	// A period starts (the first or a renewal): decide now whether it
	// ends in a cancellation, some days before its end.
	startPeriod := func() {
		if g.subRnd.Float64() < p.theta {
			end := periodDay(p.joinDay, p.renewals+1)
			p.cancelDay = max(day+1, end-1-g.subRnd.IntN(12))
		}
	}
	switch {
	case day == p.joinDay:
		add(hourSubscription, event.Record{EventID: sid + "-start", Type: event.SubscriptionStarted, CustomerID: p.id,
			SubscriptionID: sid, Plan: p.plan, Period: event.PeriodMonth, Price: price, Currency: "USD"})
		startPeriod()
	case day == p.cancelDay:
		add(hourSubscription, event.Record{EventID: sid + "-cancel", Type: event.SubscriptionCancelled, CustomerID: p.id, SubscriptionID: sid})
		p.ended = true
	case p.cancelDay < 0 && day == periodDay(p.joinDay, p.renewals+1):
		p.renewals++
		add(hourSubscription, event.Record{EventID: fmt.Sprintf("%s-r%d", sid, p.renewals), Type: event.SubscriptionRenewed, CustomerID: p.id, SubscriptionID: sid})
		startPeriod()
	}
}

// events returns the records of one simulated day as waves in time order.
func (g *generator) events(day int) []wave {
	t := g.cfg.Kafka.Topics
	at := g.start.AddDate(0, 0, day)
	byHour := map[int]*wave{}
	addWith := func(rnd *rand.Rand, hour int, topic string, r event.Record) {
		w := byHour[hour]
		if w == nil {
			w = &wave{at: at.Add(time.Duration(hour) * time.Hour), topic: topic}
			byHour[hour] = w
		}
		r.OccurredAt = w.at.Format(time.RFC3339)
		v, _ := json.Marshal(r)
		if rnd.IntN(400) == 0 {
			v = v[:len(v)/2] // a truncated record for the dead-letter path
			g.malformed++
		}
		w.msgs = append(w.msgs, kafka.Message{Key: []byte(r.CustomerID), Value: v})
	}
	add := func(hour int, topic string, r event.Record) { addWith(g.rnd, hour, topic, r) }
	addSurvey := func(hour int, topic string, r event.Record) { addWith(g.srnd, hour, topic, r) }
	addSub := func(hour int, r event.Record) { addWith(g.subRnd, hour, t.Purchases, r) }
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.people {
		if day < p.joinDay {
			continue
		}
		g.subscriptionEvents(p, day, addSub)
		buy := day == p.joinDay
		if !buy && !p.oneTime && day <= p.stopDay {
			buy = g.rnd.Float64() < 1/p.gapDays
		}
		if buy {
			p.purchases++
			switch p.purchases {
			case 1:
				g.joined++
			case 2:
				g.repeaters++
			}
			id := fmt.Sprintf("%s-o%d", p.id, p.purchases)
			amount := fmt.Sprintf("%d.%02d", (p.basket/2+g.rnd.Int64N(p.basket))/100, g.rnd.IntN(100))
			add(hourPurchase, t.Purchases, event.Record{EventID: id, Type: event.Purchase, CustomerID: p.id,
				OrderID: id, Amount: amount, Currency: "USD"})
			if g.rnd.IntN(30) == 0 {
				add(hourRefund, t.Purchases, event.Record{EventID: id + "-r", Type: event.Refund, CustomerID: p.id,
					OrderID: id, Amount: "10.00", Currency: "USD"})
			}
		}
		if (day+p.joinDay)%7 == 0 {
			msg := fmt.Sprintf("%s-m%d", p.id, day)
			add(hourEmailSent, t.Emails, event.Record{EventID: msg + "-s", Type: event.EmailSent, CustomerID: p.id, MessageID: msg, Campaign: "weekly"})
			if day <= p.stopDay && g.rnd.Float64() < p.openRate {
				add(hourEmailOpened, t.Emails, event.Record{EventID: msg + "-o", Type: event.EmailOpened, CustomerID: p.id, MessageID: msg})
			}
		}
		if g.rnd.IntN(200) == 0 {
			tk := fmt.Sprintf("%s-t%d", p.id, day)
			add(hourTicketOpened, t.Tickets, event.Record{EventID: tk + "-o", Type: event.TicketOpened, CustomerID: p.id, TicketID: tk, Priority: "normal"})
			add(hourTicketClosed, t.Tickets, event.Record{EventID: tk + "-r", Type: event.TicketResolved, CustomerID: p.id, TicketID: tk, CSAT: 1 + g.rnd.IntN(5)})
		}
		g.survey(addSurvey, p, day)
		g.message(addSurvey, p, day)
	}
	hours := make([]int, 0, len(byHour))
	for h := range byHour {
		hours = append(hours, h)
	}
	sort.Ints(hours)
	out := make([]wave, 0, len(hours))
	for _, h := range hours {
		out = append(out, *byHour[h])
	}
	return out
}
