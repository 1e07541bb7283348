package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// Config is the whole configuration of the service.
type Config struct {
	// Kafka is the pipeline: brokers, group, topics, batching, timing.
	Kafka stream.Config `yaml:"kafka"`
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
	// Log configures logging.
	Log Log `yaml:"log"`
}

// Redis configures the Redis connection.
type Redis struct {
	// Addr is host:port of the Redis server (default localhost:6379).
	Addr string `yaml:"addr"`
	// Username and Password authenticate (Redis ACL); empty for none.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DB is the database number (default 0).
	DB int `yaml:"db"`
	// KeyPrefix prefixes every key (default "clv").
	KeyPrefix string `yaml:"key_prefix"`
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
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or console.
	Format string `yaml:"format"`
}

// WithDefaults returns c with zero values replaced by defaults.
func (c Config) WithDefaults() Config {
	c.Kafka = c.Kafka.WithDefaults()
	c.Scoring = c.Scoring.WithDefaults()
	c.Model = c.Model.WithDefaults()
	if c.Redis.Addr == "" {
		c.Redis.Addr = "localhost:6379"
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
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	return c
}

// DecoderConfig returns the event decoder configuration.
func (c Config) DecoderConfig() event.Config {
	return event.Config{BaseCurrency: c.Input.BaseCurrency, Rates: c.Input.Rates, MaxBytes: c.Input.MaxBytes, MaxClockSkew: c.Input.MaxClockSkew}
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
	if c.Scoring.Churn.Medium >= c.Scoring.Churn.High {
		errs = append(errs, fmt.Errorf("scoring.churn_levels.medium: %v must be below scoring.churn_levels.high (%v)", c.Scoring.Churn.Medium, c.Scoring.Churn.High))
	}
	if _, err := c.SegmentRules(); err != nil {
		errs = append(errs, fmt.Errorf("scoring.segment_rules_file: %w", err))
	}
	if err := c.Model.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Scoring.Tiers.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("scoring.%w", err))
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
	return errors.Join(errs...)
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
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
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
			return fmt.Errorf("%s: unknown option %q (see docs/configuration.md)", path, part)
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
	for _, p := range Paths() {
		if strings.ToUpper(strings.ReplaceAll(p, ".", "_")) == want {
			return Set(c, p, value)
		}
	}
	return fmt.Errorf("environment variable %s: no such option (see docs/configuration.md)", name)
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
