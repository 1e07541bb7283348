package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// Config is the whole configuration of the service.
type Config struct {
	// Kafka is the pipeline: brokers, group, topics, batching, timing.
	Kafka stream.Config `yaml:"kafka"`
	// KafkaSecurity secures the Kafka connections: TLS and SASL. It is a
	// top-level section rather than kafka.tls and kafka.sasl because the
	// kafka section is the pipeline's own stream.Config, which knows
	// nothing about how connections are made; internal/connect turns this
	// section into the dialer and transport the pipeline is given.
	KafkaSecurity KafkaSecurity `yaml:"kafka_security"`
	// TopicCreation is how `clvstream topics` creates missing topics.
	TopicCreation TopicCreation `yaml:"topic_creation"`
	// Redis is the state store.
	Redis Redis `yaml:"redis"`
	// HTTP serves /healthz, /readyz and /metrics.
	HTTP HTTP `yaml:"http"`
	// Input bounds and converts incoming events.
	Input Input `yaml:"input"`
	// Scoring parameterises CLV, churn risk, tiers and segments.
	Scoring scoring.Config `yaml:"scoring"`
	// Model configures the fitted population models.
	Model model.Config `yaml:"model"`
	// KPI configures the population KPI snapshots.
	KPI kpi.Config `yaml:"kpi"`
	// Attribution configures the campaign attribution of purchases.
	Attribution kpi.Attribution `yaml:"attribution"`
	// Log configures logging.
	Log Log `yaml:"log"`
}

// KafkaSecurity configures TLS and SASL for every Kafka connection: the
// consumer group and readers, the writers and the admin client.
type KafkaSecurity struct {
	TLS  KafkaTLS  `yaml:"tls"`
	SASL KafkaSASL `yaml:"sasl"`
}

// KafkaTLS configures TLS to the brokers.
type KafkaTLS struct {
	// Enabled turns TLS on (default off: plaintext).
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs that sign the brokers'
	// certificates; empty trusts the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate and private key
	// (mutual TLS); both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify accepts any broker certificate. Tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// TopicCreation configures `clvstream topics`, which creates the topics of
// kafka.topics that do not exist yet. The service itself never creates
// topics.
type TopicCreation struct {
	// Partitions is the partition count of every topic created (default
	// 12). The input topics must share one count, so when some input
	// topics exist already, missing ones get the existing count instead.
	// It bounds the parallelism: at most this many instances share the
	// work. It cannot be changed later without rebuilding the state.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor is the number of replicas of each partition
	// created (default 0: the broker's default.replication.factor).
	ReplicationFactor int `yaml:"replication_factor"`
}

// SASL mechanisms of kafka_security.sasl.mechanism.
const (
	SASLNone        = "none"
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// KafkaSASL configures SASL authentication to the brokers.
type KafkaSASL struct {
	// Mechanism is none (default), plain, scram-sha-256 or scram-sha-512.
	Mechanism string `yaml:"mechanism"`
	// Username and Password are the SASL credentials; pass the password
	// from a secret (CLVSTREAM_KAFKA_SECURITY_SASL_PASSWORD).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Redis modes of redis.mode.
const (
	RedisStandalone = "standalone"
	RedisCluster    = "cluster"
	RedisSentinel   = "sentinel"
)

// Redis configures the Redis connection.
type Redis struct {
	// Mode is standalone (default: one server at Addr), cluster (Redis
	// Cluster, seed nodes in Addrs) or sentinel (the master MasterName,
	// found through the sentinels in Addrs).
	Mode string `yaml:"mode"`
	// Addr is host:port of the Redis server (default localhost:6379);
	// standalone mode only.
	Addr string `yaml:"addr"`
	// Addrs are the cluster seed nodes or the sentinels (host:port each);
	// cluster and sentinel modes only.
	Addrs []string `yaml:"addrs"`
	// MasterName is the name the sentinels monitor; sentinel mode only.
	MasterName string `yaml:"master_name"`
	// Username and Password authenticate (Redis ACL); empty for none.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DB is the database number (default 0).
	DB int `yaml:"db"`
	// KeyPrefix prefixes every key (default "clv").
	KeyPrefix string `yaml:"key_prefix"`
	// TLS configures TLS to Redis (and to the sentinels).
	TLS RedisTLS `yaml:"tls"`
}

// RedisTLS configures TLS to Redis.
type RedisTLS struct {
	// Enabled turns TLS on (default off).
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs that sign the servers'
	// certificates; empty trusts the system roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any server certificate. Tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// HTTP configures the HTTP endpoint: operations (/healthz, /readyz,
// /metrics) and the query API (/v1).
type HTTP struct {
	// Addr is the listen address (default ":8080").
	Addr string `yaml:"addr"`
	// Auth protects /v1: bearer (default: a token from APITokens is
	// required) or none (the demo).
	Auth string `yaml:"auth"`
	// APITokens are the accepted bearer tokens (at least 16 visible ASCII
	// characters each); set them from a secret, e.g.
	// CLVSTREAM_HTTP_API_TOKENS=token1,token2.
	APITokens []string `yaml:"api_tokens"`
	// PProf serves the Go runtime profiles under /debug/pprof/ on Addr,
	// behind the same authentication as /v1 (default off).
	PProf bool `yaml:"pprof"`
}

// Input configures decoding and validation of input events.
type Input struct {
	// BaseCurrency is the ISO 4217 currency all money is converted to
	// (default USD).
	BaseCurrency string `yaml:"base_currency"`
	// Rates maps a currency to units of base currency per unit, as a
	// decimal string ({"EUR": "1.08"}). Records in other currencies go to
	// the dead-letter topic.
	Rates map[string]string `yaml:"rates"`
	// MaxBytes is the largest accepted record value (default 65536).
	MaxBytes int `yaml:"max_bytes"`
	// MaxClockSkew is how far in the future occurred_at may be (default 5m).
	MaxClockSkew time.Duration `yaml:"max_clock_skew"`
	// MaxAmount is the largest accepted amount (and margin) of one
	// purchase or refund, in minor units of BaseCurrency after conversion
	// (default event.DefaultMaxAmount, 10^12: 10 billion USD). Larger
	// ones go to the dead-letter topic.
	MaxAmount int64 `yaml:"max_amount"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or console.
	Format string `yaml:"format"`
	// HashCustomerIDs logs customer ids only as a hash (the first 16 hex
	// digits of their SHA-256), never in clear; nil means the default,
	// true. A pointer because false must be distinguishable from unset.
	// Read it with HashCustomers.
	HashCustomerIDs *bool `yaml:"hash_customer_ids"`
}

// HashCustomers reports whether logs carry customer ids hashed (the
// default) rather than in clear.
func (l Log) HashCustomers() bool { return l.HashCustomerIDs == nil || *l.HashCustomerIDs }

// WithDefaults returns c with zero values replaced by defaults.
func (c Config) WithDefaults() Config {
	c.Kafka = c.Kafka.WithDefaults()
	c.Scoring = c.Scoring.WithDefaults()
	// The churn model is fitted for the scoring horizon and signals.
	c.Model.ChurnHorizon = c.Scoring.ChurnHorizon
	c.Model.EmailHalfLife = c.Scoring.EmailHalfLife
	c.Model.Subscriptions = c.Scoring.Subscriptions
	c.Model = c.Model.WithDefaults()
	c.Attribution = c.Attribution.WithDefaults()
	c.KPI.AttributionWindow = c.Attribution.Window
	c.KPI = c.KPI.WithDefaults()
	if c.KafkaSecurity.SASL.Mechanism == "" {
		c.KafkaSecurity.SASL.Mechanism = SASLNone
	}
	if c.TopicCreation.Partitions == 0 {
		c.TopicCreation.Partitions = 12
	}
	if c.Redis.Mode == "" {
		c.Redis.Mode = RedisStandalone
	}
	if c.Redis.Addr == "" {
		c.Redis.Addr = "localhost:6379"
	}
	if len(c.Redis.Addrs) == 0 {
		c.Redis.Addrs = nil // an empty list is no list
	}
	if c.Redis.KeyPrefix == "" {
		c.Redis.KeyPrefix = "clv"
	}
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = ":8080"
	}
	if c.HTTP.Auth == "" {
		c.HTTP.Auth = "bearer"
	}
	if len(c.HTTP.APITokens) == 0 {
		c.HTTP.APITokens = nil // an empty list is no list
	}
	if c.Input.BaseCurrency == "" {
		c.Input.BaseCurrency = "USD"
	}
	if c.Input.MaxBytes == 0 {
		c.Input.MaxBytes = 64 << 10
	}
	if c.Input.MaxClockSkew == 0 {
		c.Input.MaxClockSkew = 5 * time.Minute
	}
	if c.Input.MaxAmount == 0 {
		c.Input.MaxAmount = event.DefaultMaxAmount
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Log.HashCustomerIDs == nil {
		hash := true
		c.Log.HashCustomerIDs = &hash
	}
	return c
}

// DecoderConfig returns the event decoder configuration.
func (c Config) DecoderConfig() event.Config {
	return event.Config{BaseCurrency: c.Input.BaseCurrency, Rates: c.Input.Rates, MaxBytes: c.Input.MaxBytes, MaxClockSkew: c.Input.MaxClockSkew,
		MaxAmount: c.Input.MaxAmount}
}

// SegmentRules loads and compiles the segment rules: the file named by
// scoring.segment_rules_file, or the built-in defaults.
func (c Config) SegmentRules() (segment.RuleSet, error) {
	if c.Scoring.SegmentRulesFile == "" {
		return segment.DefaultRuleSet(), nil
	}
	b, err := os.ReadFile(c.Scoring.SegmentRulesFile)
	if err != nil {
		return segment.RuleSet{}, err
	}
	rs, err := segment.ParseRuleSet(b)
	if err != nil {
		return rs, err
	}
	_, err = segment.Compile(rs)
	return rs, err
}

// Validate returns every problem of c (defaults applied), each naming its
// field.
func (c Config) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := event.NewDecoder(c.DecoderConfig()); err != nil {
		errs = append(errs, fmt.Errorf("input: %w", err))
	}
	if c.Scoring.DefaultMargin < 0 || c.Scoring.DefaultMargin > 1 {
		errs = append(errs, fmt.Errorf("scoring.default_margin: %v must be a rate between 0 and 1, e.g. 0.3", c.Scoring.DefaultMargin))
	}
	if l := c.Scoring.Churn; l.Medium < 0 || l.High < 0 || l.Medium >= 1 || l.High >= 1 {
		errs = append(errs, fmt.Errorf("scoring.churn_levels: medium %v and high %v must be probabilities in [0, 1) (0: the defaults 0.5 and 0.8)", l.Medium, l.High))
	} else if med, high := orDefault(l.Medium, churn.DefaultMedium), orDefault(l.High, churn.DefaultHigh); med >= high {
		errs = append(errs, fmt.Errorf("scoring.churn_levels.medium: %v must be below scoring.churn_levels.high (%v)", med, high))
	}
	if c.Scoring.ChurnHorizon < 24*time.Hour {
		errs = append(errs, fmt.Errorf("scoring.churn_horizon: %s must be at least 24h, e.g. 2160h (90 days)", c.Scoring.ChurnHorizon))
	}
	if err := c.Scoring.Subscriptions.Validate("scoring.subscriptions."); err != nil {
		errs = append(errs, err)
	}
	if rs, err := c.SegmentRules(); err != nil {
		errs = append(errs, fmt.Errorf("scoring.segment_rules_file: %w", err))
	} else if eng, err := segment.Compile(rs); err == nil && eng.Uses("referrals") && c.Kafka.Topics.Referrals == "" {
		errs = append(errs, fmt.Errorf("scoring.segment_rules_file: the rules use referrals, but kafka.topics.referrals is not set, so no referral is ever credited and referrals is 0 for every customer; set kafka.topics.referrals (e.g. clv.referrals) and create it with clvstream topics"))
	}
	if err := c.Model.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.KPI.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Attribution.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Scoring.Tiers.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("scoring.%w", err))
	}
	if n := c.TopicCreation.Partitions; n < 1 || n > 10000 {
		errs = append(errs, fmt.Errorf("topic_creation.partitions: %d must be between 1 and 10000, e.g. 12", n))
	}
	if n := c.TopicCreation.ReplicationFactor; n < 0 || n > 32767 {
		errs = append(errs, fmt.Errorf("topic_creation.replication_factor: %d must be 0 (the broker's default) or a replica count, e.g. 3", n))
	}
	if c.HTTP.Auth != "bearer" && c.HTTP.Auth != "none" {
		errs = append(errs, fmt.Errorf("http.auth: %q must be bearer or none", c.HTTP.Auth))
	}
	for i, tok := range c.HTTP.APITokens {
		if len(tok) < 16 || strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			errs = append(errs, fmt.Errorf("http.api_tokens[%d]: tokens must be at least 16 visible ASCII characters (generate one with: openssl rand -hex 24)", i))
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q must be debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		errs = append(errs, fmt.Errorf("log.format: %q must be json or console", c.Log.Format))
	}
	errs = append(errs, c.KafkaSecurity.validate()...)
	errs = append(errs, c.Redis.validate()...)
	return errors.Join(errs...)
}

// validate checks the Kafka TLS and SASL options.
func (k KafkaSecurity) validate() []error {
	var errs []error
	t := k.TLS
	if !t.Enabled {
		var set []string
		for _, o := range []struct {
			name string
			set  bool
		}{{"ca_file", t.CAFile != ""}, {"cert_file", t.CertFile != ""}, {"key_file", t.KeyFile != ""}, {"insecure_skip_verify", t.InsecureSkipVerify}} {
			if o.set {
				set = append(set, "kafka_security.tls."+o.name)
			}
		}
		if len(set) > 0 {
			errs = append(errs, fmt.Errorf("kafka_security.tls.enabled: is false, so %s would be ignored; set kafka_security.tls.enabled: true, or remove them", strings.Join(set, ", ")))
		}
	}
	if t.CertFile != "" && t.KeyFile == "" {
		errs = append(errs, errors.New("kafka_security.tls.key_file: required with kafka_security.tls.cert_file (the client certificate's private key, PEM)"))
	}
	if t.KeyFile != "" && t.CertFile == "" {
		errs = append(errs, errors.New("kafka_security.tls.cert_file: required with kafka_security.tls.key_file (the client certificate, PEM)"))
	}
	s := k.SASL
	switch s.Mechanism {
	case SASLNone:
		if s.Username != "" || s.Password != "" {
			errs = append(errs, errors.New("kafka_security.sasl.mechanism: is none, so kafka_security.sasl.username and password would be ignored; set the mechanism to plain, scram-sha-256 or scram-sha-512, or remove the credentials"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if s.Username == "" {
			errs = append(errs, fmt.Errorf("kafka_security.sasl.username: required with kafka_security.sasl.mechanism %s; set it (CLVSTREAM_KAFKA_SECURITY_SASL_USERNAME)", s.Mechanism))
		}
		if s.Password == "" {
			errs = append(errs, fmt.Errorf("kafka_security.sasl.password: required with kafka_security.sasl.mechanism %s; pass it from a secret: CLVSTREAM_KAFKA_SECURITY_SASL_PASSWORD=...", s.Mechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("kafka_security.sasl.mechanism: %q must be none, plain, scram-sha-256 or scram-sha-512", s.Mechanism))
	}
	return errs
}

// validate checks the Redis topology and TLS options.
func (r Redis) validate() []error {
	var errs []error
	switch r.Mode {
	case RedisStandalone:
		if len(r.Addrs) > 0 {
			errs = append(errs, errors.New("redis.addrs: only used with redis.mode cluster or sentinel; standalone connects to redis.addr (set redis.mode, or move the address to redis.addr)"))
		}
	case RedisCluster:
		if len(r.Addrs) == 0 {
			errs = append(errs, errors.New(`redis.addrs: redis.mode cluster needs the seed nodes, e.g. ["redis-0:6379", "redis-1:6379"]`))
		}
		if r.DB != 0 {
			errs = append(errs, fmt.Errorf("redis.db: %d, but Redis Cluster has only database 0; remove redis.db", r.DB))
		}
	case RedisSentinel:
		if len(r.Addrs) == 0 {
			errs = append(errs, errors.New(`redis.addrs: redis.mode sentinel needs the sentinel addresses, e.g. ["sentinel-0:26379", "sentinel-1:26379", "sentinel-2:26379"]`))
		}
		if r.MasterName == "" {
			errs = append(errs, errors.New("redis.master_name: required with redis.mode sentinel: the name the sentinels monitor (sentinel monitor NAME ...), e.g. mymaster"))
		}
	default:
		errs = append(errs, fmt.Errorf("redis.mode: %q must be standalone, cluster or sentinel", r.Mode))
	}
	if r.MasterName != "" && r.Mode != RedisSentinel {
		errs = append(errs, fmt.Errorf("redis.master_name: only used with redis.mode sentinel (redis.mode is %s); remove it or set redis.mode: sentinel", r.Mode))
	}
	for i, a := range r.Addrs {
		host, port, err := net.SplitHostPort(a)
		if _, perr := strconv.ParseUint(port, 10, 16); err != nil || host == "" || perr != nil {
			errs = append(errs, fmt.Errorf("redis.addrs[%d]: %q must be host:port, e.g. redis-0:6379", i, a))
		}
	}
	if r.DB < 0 {
		errs = append(errs, fmt.Errorf("redis.db: %d must not be negative", r.DB))
	}
	if !r.TLS.Enabled && (r.TLS.CAFile != "" || r.TLS.InsecureSkipVerify) {
		errs = append(errs, errors.New("redis.tls.enabled: is false, so redis.tls.ca_file and redis.tls.insecure_skip_verify would be ignored; set redis.tls.enabled: true, or remove them"))
	}
	return errs
}

// Load reads the YAML file (if path is not empty), applies CLVSTREAM_*
// environment overrides, then the path=value overrides in sets, applies
// defaults and validates.
func Load(path string, environ []string, sets []string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		if err := decodeYAML(b, &c); err != nil {
			return c, fmt.Errorf("config %s:\n%w", path, err)
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "CLVSTREAM_") {
			continue
		}
		if err := setEnv(&c, k, v); err != nil {
			return c, err
		}
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return c, fmt.Errorf("--set %q: want path=value, e.g. kafka.brokers=localhost:9092", s)
		}
		if err := Set(&c, k, v); err != nil {
			return c, err
		}
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// Set assigns value to the option at the dotted YAML path.
func Set(c *Config, path, value string) error {
	v := reflect.ValueOf(c).Elem()
	for _, part := range strings.Split(path, ".") {
		if v.Kind() != reflect.Struct {
			return fmt.Errorf("%s: not an option (see docs/configuration.md)", path)
		}
		f, ok := fieldByTag(v, part)
		if !ok {
			hint := ""
			if s := suggestPath(path); s != "" {
				hint = "; did you mean " + s + "?"
			}
			return fmt.Errorf("%s: unknown option %q%s (see docs/configuration.md)", path, part, hint)
		}
		v = f
	}
	if err := setLeaf(v, value); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// setEnv resolves an environment variable name to an option path by walking
// the struct, since YAML keys contain underscores too.
func setEnv(c *Config, name, value string) error {
	want := strings.TrimPrefix(name, "CLVSTREAM_")
	best, bestD := "", 1<<30
	for _, p := range Paths() {
		env := EnvName(p)
		if env == name {
			return Set(c, p, value)
		}
		if d := segment.EditDistance(name, env); d < bestD {
			best, bestD = env, d
		}
	}
	hint := ""
	if bestD <= maxTypos(want) {
		hint = "; did you mean " + best + "?"
	}
	return fmt.Errorf("environment variable %s: no such option%s (see docs/configuration.md)", name, hint)
}

// EnvName is the environment variable that sets the option at path:
// CLVSTREAM_ and the path upper-cased, dots as underscores.
func EnvName(path string) string {
	return "CLVSTREAM_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// Paths lists the dotted paths of every leaf option.
func Paths() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			p := prefix + tag
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type, p+".")
				continue
			}
			out = append(out, p)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0] == tag {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func setLeaf(v reflect.Value, s string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := setLeaf(p.Elem(), s); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 250ms or 24h", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return errors.New("this list can only be set in the YAML file")
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		v.Set(reflect.ValueOf(parts))
	case reflect.Map:
		m := map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("%q: want KEY=VALUE pairs separated by commas", s)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		v.Set(reflect.ValueOf(m))
	default:
		return errors.New("this option can only be set in the YAML file")
	}
	return nil
}

// orDefault returns v, or d when v is 0.
func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
