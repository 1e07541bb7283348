package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/clvstream/clvstream/pkg/event"
)

// writeFile writes body to a temporary YAML file and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clvstream.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const baseYAML = `
kafka:
  brokers: ["yaml-1:9092", "yaml-2:9092"]
  group_id: from-yaml
  batch_size: 100
  flush_interval: 300ms
redis:
  addr: yaml-redis:6379
input:
  rates:
    EUR: "1.10"
log:
  level: debug
  format: console
`

func TestLoadLayers(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string // "" for no file
		env   []string
		sets  []string
		check func(t *testing.T, c Config)
	}{
		{
			name: "defaults fill what no layer sets",
			sets: []string{"kafka.brokers=localhost:9092"},
			check: func(t *testing.T, c Config) {
				eq(t, "kafka.brokers", c.Kafka.Brokers, []string{"localhost:9092"})
				eq(t, "kafka.group_id", c.Kafka.GroupID, "clvstream")
				eq(t, "kafka.topics.segment_changes", c.Kafka.Topics.SegmentChanges, "clv.segment-changes")
				eq(t, "kafka.batch_size", c.Kafka.BatchSize, 500)
				eq(t, "kafka.flush_interval", c.Kafka.FlushInterval, 200*time.Millisecond)
				eq(t, "kafka.owner_lease", c.Kafka.OwnerLease, time.Minute)
				eq(t, "redis.addr", c.Redis.Addr, "localhost:6379")
				eq(t, "redis.key_prefix", c.Redis.KeyPrefix, "clv")
				eq(t, "http.addr", c.HTTP.Addr, ":8080")
				eq(t, "input.base_currency", c.Input.BaseCurrency, "USD")
				eq(t, "input.max_bytes", c.Input.MaxBytes, 65536)
				eq(t, "input.max_clock_skew", c.Input.MaxClockSkew, 5*time.Minute)
				eq(t, "input.max_amount", c.Input.MaxAmount, int64(1_000_000_000_000))
				eq(t, "scoring.default_margin", c.Scoring.DefaultMargin, 0.3)
				eq(t, "scoring.email_half_life", c.Scoring.EmailHalfLife, 720*time.Hour)
				eq(t, "scoring.churn_horizon", c.Scoring.ChurnHorizon, 2160*time.Hour)
				eq(t, "scoring.replenishment_factor", c.Scoring.ReplenishmentFactor, 1.25)
				eq(t, "model.purchase", c.Model.Kind, "mbgnbd")
				eq(t, "len(scoring.tiers)", len(c.Scoring.Tiers), 4)
				eq(t, "log.level", c.Log.Level, "info")
				eq(t, "log.format", c.Log.Format, "json")
			},
		},
		{
			name: "YAML file alone",
			yaml: baseYAML,
			check: func(t *testing.T, c Config) {
				eq(t, "kafka.brokers", c.Kafka.Brokers, []string{"yaml-1:9092", "yaml-2:9092"})
				eq(t, "kafka.group_id", c.Kafka.GroupID, "from-yaml")
				eq(t, "kafka.batch_size", c.Kafka.BatchSize, 100)
				eq(t, "kafka.flush_interval", c.Kafka.FlushInterval, 300*time.Millisecond)
				eq(t, "input.rates", c.Input.Rates, map[string]string{"EUR": "1.10"})
				eq(t, "log.level", c.Log.Level, "debug")
			},
		},
		{
			name: "environment overrides the file, other variables are ignored",
			yaml: baseYAML,
			env: []string{
				"PATH=/usr/bin",
				"KAFKA_BROKERS=ignored:9092",
				"CLVSTREAM_KAFKA_GROUP_ID=from-env",
				"CLVSTREAM_KAFKA_BROKERS=env-1:9092, env-2:9092 ,env-3:9092",
				"CLVSTREAM_KAFKA_TOPICS_SEGMENT_CHANGES=crm.segments",
				"CLVSTREAM_INPUT_RATES=GBP=1.27, JPY=0.0067",
				"CLVSTREAM_SCORING_EMAIL_HALF_LIFE=48h",
				"CLVSTREAM_LOG_LEVEL=warn",
			},
			check: func(t *testing.T, c Config) {
				eq(t, "kafka.group_id", c.Kafka.GroupID, "from-env")
				eq(t, "kafka.brokers", c.Kafka.Brokers, []string{"env-1:9092", "env-2:9092", "env-3:9092"})
				eq(t, "kafka.topics.segment_changes", c.Kafka.Topics.SegmentChanges, "crm.segments")
				// A map from the environment replaces the file's map.
				eq(t, "input.rates", c.Input.Rates, map[string]string{"GBP": "1.27", "JPY": "0.0067"})
				eq(t, "scoring.email_half_life", c.Scoring.EmailHalfLife, 48*time.Hour)
				eq(t, "log.level", c.Log.Level, "warn")
				eq(t, "kafka.batch_size (file)", c.Kafka.BatchSize, 100)
				eq(t, "log.format (file)", c.Log.Format, "console")
			},
		},
		{
			name: "--set overrides the environment and the file; the last --set wins",
			yaml: baseYAML,
			env:  []string{"CLVSTREAM_KAFKA_GROUP_ID=from-env", "CLVSTREAM_LOG_LEVEL=warn", "CLVSTREAM_REDIS_DB=3"},
			sets: []string{
				"log.level=info",
				"kafka.group_id=from-set",
				"log.level=error",
				"kafka.batch_size=42",
				"scoring.default_margin=0.25",
				"scoring.min_population_repeats=7",
			},
			check: func(t *testing.T, c Config) {
				eq(t, "kafka.group_id", c.Kafka.GroupID, "from-set")
				eq(t, "log.level", c.Log.Level, "error")
				eq(t, "kafka.batch_size", c.Kafka.BatchSize, 42)
				eq(t, "scoring.default_margin", c.Scoring.DefaultMargin, 0.25)
				eq(t, "scoring.min_population_repeats", c.Scoring.MinPopulationRepeats, int64(7))
				eq(t, "redis.db (env)", c.Redis.DB, 3)
				eq(t, "redis.addr (file)", c.Redis.Addr, "yaml-redis:6379")
				eq(t, "kafka.flush_interval (file)", c.Kafka.FlushInterval, 300*time.Millisecond)
			},
		},
		{
			name: "no file: environment and --set alone",
			env:  []string{"CLVSTREAM_KAFKA_BROKERS=env:9092"},
			sets: []string{"http.addr=127.0.0.1:9000"},
			check: func(t *testing.T, c Config) {
				eq(t, "kafka.brokers", c.Kafka.Brokers, []string{"env:9092"})
				eq(t, "http.addr", c.HTTP.Addr, "127.0.0.1:9000")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			c, err := Load(path, tt.env, tt.sets)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		sets []string
		want []string // substrings of the error
	}{
		{
			name: "unknown YAML key",
			yaml: "kafka:\n  brokers: [a:9092]\n  bokers: [b:9092]\n",
			want: []string{"bokers", "line 3"},
		},
		{
			name: "mistyped YAML key: the option path and a suggestion, no Go types",
			yaml: "kafka:\n  brokers: [a:9092]\nredis:\n  adr: localhost:6379\n",
			want: []string{"redis.adr: unknown field; did you mean redis.addr?", "line 4"},
		},
		{
			name: "every YAML problem at once, each named by its path",
			yaml: "kafka:\n  brokers: a:9092\n  flush_interval: soon\n  batch_size: many\nlog:\n  levle: info\nbrokers: [x:9092]\n",
			want: []string{"kafka.flush_interval: \"soon\" is not a duration like 250ms or 24h (line 3)",
				"kafka.batch_size: \"many\" is not an integer (line 4)", "log.levle: unknown field; did you mean log.level?",
				"brokers: unknown field; did you mean kafka.brokers?", "kafka.brokers: want a list"},
		},
		{
			name: "a key with no near match lists the options of its section",
			yaml: "http:\n  listen: \":9000\"\n",
			want: []string{"http.listen: unknown field; the options here are http.addr, http.auth, http.api_tokens"},
		},
		{
			name: "mistyped --set path gets a suggestion",
			sets: []string{"redis.adr=x:6379"},
			want: []string{"redis.adr", "did you mean redis.addr?"},
		},
		{
			name: "mistyped environment variable gets a suggestion",
			env:  []string{"CLVSTREAM_REDIS_ADR=x:6379"},
			want: []string{"CLVSTREAM_REDIS_ADR", "did you mean CLVSTREAM_REDIS_ADDR?"},
		},
		{
			name: "unknown top-level YAML section",
			yaml: "kafka:\n  brokers: [a:9092]\nmetrics:\n  addr: x\n",
			want: []string{"metrics"},
		},
		{
			name: "unknown CLVSTREAM_ variable",
			env:  []string{"CLVSTREAM_KAFKA_BROKERS=a:9092", "CLVSTREAM_NOPE=1"},
			want: []string{"CLVSTREAM_NOPE", "no such option"},
		},
		{
			name: "bad duration in the environment",
			env:  []string{"CLVSTREAM_KAFKA_BROKERS=a:9092", "CLVSTREAM_KAFKA_FLUSH_INTERVAL=soon"},
			want: []string{"kafka.flush_interval", `"soon"`, "duration"},
		},
		{
			name: "bad duration in --set",
			sets: []string{"kafka.brokers=a:9092", "scoring.email_half_life=30d"},
			want: []string{"scoring.email_half_life", `"30d"`, "duration"},
		},
		{
			name: "bad integer",
			sets: []string{"kafka.brokers=a:9092", "kafka.batch_size=many"},
			want: []string{"kafka.batch_size", "integer"},
		},
		{
			name: "bad number",
			env:  []string{"CLVSTREAM_KAFKA_BROKERS=a:9092", "CLVSTREAM_SCORING_DEFAULT_MARGIN=30%"},
			want: []string{"scoring.default_margin", "number"},
		},
		{
			name: "bad map",
			sets: []string{"kafka.brokers=a:9092", "input.rates=EUR:1.08"},
			want: []string{"input.rates", "KEY=VALUE"},
		},
		{
			name: "unknown --set path",
			sets: []string{"kafka.brokers=a:9092", "kafka.topics.orders=x"},
			want: []string{"kafka.topics.orders", `"orders"`},
		},
		{
			name: "--set without =",
			sets: []string{"kafka.brokers"},
			want: []string{`"kafka.brokers"`, "path=value"},
		},
		{
			name: "tiers outside YAML",
			env:  []string{"CLVSTREAM_KAFKA_BROKERS=a:9092", "CLVSTREAM_SCORING_TIERS=gold"},
			want: []string{"scoring.tiers", "YAML"},
		},
		{
			name: "invalid after all layers",
			yaml: "kafka:\n  brokers: [a:9092]\nlog:\n  level: info\n",
			sets: []string{"log.level=verbose"},
			want: []string{"log.level", `"verbose"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			_, err := Load(path, tt.env, tt.sets)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // one field per problem
	}{
		{
			name: "no brokers and a bad log level",
			mutate: func(c *Config) {
				c.Kafka.Brokers = nil
				c.Log.Level = "verbose"
			},
			want: []string{"kafka.brokers", "log.level"},
		},
		{
			name: "one problem in every section that validates",
			mutate: func(c *Config) {
				c.Kafka.StartOffset = "middle"
				c.Input.BaseCurrency = "XYZ"
				c.Scoring.DefaultMargin = 1.5
				c.Scoring.Churn.Medium = 0.9
				c.Scoring.Tiers = append(c.Scoring.Tiers, c.Scoring.Tiers[0])
				c.Log.Format = "xml"
			},
			want: []string{"kafka.start_offset", "base_currency", "scoring.default_margin", "scoring.churn_levels.medium", "scoring.tiers[4].name", "log.format"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{}.WithDefaults()
			c.Kafka.Brokers = []string{"localhost:9092"}
			if err := c.Validate(); err != nil {
				t.Fatalf("valid base config: %v", err)
			}
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want errors")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %s:\n%v", w, err)
				}
			}
		})
	}

	// The same through Load: the problems of all layers together.
	_, err := Load("", []string{"CLVSTREAM_LOG_LEVEL=loud"}, []string{"log.format=xml", "kafka.brokers="})
	if err == nil {
		t.Fatal("Load succeeded with an empty broker address")
	}
	for _, w := range []string{"kafka.brokers", "log.level", "log.format"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Load error does not name %s:\n%v", w, err)
		}
	}
}

// Every option can be reached from the environment under exactly one name.
func TestEnvNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, p := range Paths() {
		name := "CLVSTREAM_" + strings.ToUpper(strings.ReplaceAll(p, ".", "_"))
		if other, dup := seen[name]; dup {
			t.Errorf("%s and %s share the environment variable %s", p, other, name)
		}
		seen[name] = p
	}
}

var docRow = regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\|")

// docs/configuration.md has a table row for every option and none for an
// option that does not exist.
func TestPathsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range docRow.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = true
	}
	paths := Paths()
	known := map[string]bool{}
	for _, p := range paths {
		known[p] = true
		if !documented[p] {
			t.Errorf("option %s has no row in docs/configuration.md", p)
		}
	}
	for p := range documented {
		if !known[p] {
			t.Errorf("docs/configuration.md documents %s, which is not an option", p)
		}
	}
	if len(paths) < 40 {
		t.Errorf("Paths() returned only %d options: %v", len(paths), paths)
	}
}

// deployments/clvstream.yaml is valid, lists every option and, apart from
// the values its comments call out, spells out the defaults.
func TestExampleConfig(t *testing.T) {
	const file = "../../deployments/clvstream.yaml"
	got, err := Load(file, nil, nil)
	if err != nil {
		t.Fatalf("Load(%s): %v", file, err)
	}
	want := Config{}
	want.Kafka.Brokers = []string{"kafka:9092"}
	want.Redis.Addr = "redis:6379"
	// JPY: the purchase example of api/schemas/purchase.json is in yen.
	want.Input.Rates = map[string]string{"EUR": "1.08", "GBP": "1.27", "JPY": "0.0067"}
	want = want.WithDefaults()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s differs from the defaults beyond brokers, redis.addr and input.rates:\n got %+v\nwant %+v", file, got, want)
	}

	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range Paths() {
		var node any = doc
		for _, key := range strings.Split(p, ".") {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node, ok = m[key]
			if !ok {
				node = nil
				break
			}
		}
		if node == nil {
			t.Errorf("%s does not set %s", file, p)
		}
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// The security and topology options: defaults, and every layer reaches
// them (the bool with a true default included).
func TestSecurityOptions(t *testing.T) {
	c, err := Load("", nil, []string{"kafka.brokers=a:9092"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "kafka_security.sasl.mechanism", c.KafkaSecurity.SASL.Mechanism, "none")
	eq(t, "kafka_security.tls.enabled", c.KafkaSecurity.TLS.Enabled, false)
	eq(t, "redis.mode", c.Redis.Mode, "standalone")
	eq(t, "redis.addrs", c.Redis.Addrs, []string(nil))
	eq(t, "redis.tls.enabled", c.Redis.TLS.Enabled, false)
	eq(t, "log.hash_customer_ids", c.Log.HashCustomers(), true)
	if (Config{}).Log.HashCustomers() != true {
		t.Error("a zero Log must hash customer ids")
	}

	yml := `
kafka:
  brokers: [a:9093]
kafka_security:
  tls:
    enabled: true
    ca_file: /etc/kafka/ca.pem
    cert_file: /etc/kafka/client.pem
    key_file: /etc/kafka/client-key.pem
  sasl:
    mechanism: scram-sha-512
    username: clv
redis:
  mode: sentinel
  addrs: ["s-0:26379", "s-1:26379"]
  master_name: mymaster
  tls:
    enabled: true
    ca_file: /etc/redis/ca.pem
log:
  hash_customer_ids: false
`
	c, err = Load(writeFile(t, yml), []string{"CLVSTREAM_KAFKA_SECURITY_SASL_PASSWORD=s3cret", "CLVSTREAM_REDIS_PASSWORD=r3dis"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "kafka_security.tls", c.KafkaSecurity.TLS, KafkaTLS{Enabled: true, CAFile: "/etc/kafka/ca.pem", CertFile: "/etc/kafka/client.pem", KeyFile: "/etc/kafka/client-key.pem"})
	eq(t, "kafka_security.sasl", c.KafkaSecurity.SASL, KafkaSASL{Mechanism: "scram-sha-512", Username: "clv", Password: "s3cret"})
	eq(t, "redis.mode", c.Redis.Mode, "sentinel")
	eq(t, "redis.addrs", c.Redis.Addrs, []string{"s-0:26379", "s-1:26379"})
	eq(t, "redis.master_name", c.Redis.MasterName, "mymaster")
	eq(t, "redis.password", c.Redis.Password, "r3dis")
	eq(t, "redis.tls", c.Redis.TLS, RedisTLS{Enabled: true, CAFile: "/etc/redis/ca.pem"})
	eq(t, "log.hash_customer_ids (file false)", c.Log.HashCustomers(), false)

	// Environment and --set, in both directions for the bool.
	c, err = Load(writeFile(t, yml), []string{"CLVSTREAM_KAFKA_SECURITY_SASL_PASSWORD=x", "CLVSTREAM_LOG_HASH_CUSTOMER_IDS=true"},
		[]string{"redis.mode=cluster", "redis.master_name=", "redis.addrs=c-0:6379, c-1:6379", "redis.tls.insecure_skip_verify=true", "kafka_security.sasl.mechanism=plain"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "log.hash_customer_ids (env true over file false)", c.Log.HashCustomers(), true)
	eq(t, "redis.mode", c.Redis.Mode, "cluster")
	eq(t, "redis.addrs", c.Redis.Addrs, []string{"c-0:6379", "c-1:6379"})
	eq(t, "redis.tls.insecure_skip_verify", c.Redis.TLS.InsecureSkipVerify, true)
	eq(t, "kafka_security.sasl.mechanism", c.KafkaSecurity.SASL.Mechanism, "plain")
	c, err = Load("", []string{"CLVSTREAM_KAFKA_BROKERS=a:9092"}, []string{"log.hash_customer_ids=false"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "log.hash_customer_ids (--set false)", c.Log.HashCustomers(), false)
	if _, err := Load("", []string{"CLVSTREAM_KAFKA_BROKERS=a:9092", "CLVSTREAM_LOG_HASH_CUSTOMER_IDS=maybe"}, nil); err == nil || !strings.Contains(err.Error(), "log.hash_customer_ids") {
		t.Errorf("a bad bool: err = %v, want one naming log.hash_customer_ids", err)
	}
}

func TestSecurityValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // one substring per problem: the field, and the fix
	}{
		{"unknown SASL mechanism", func(c *Config) { c.KafkaSecurity.SASL.Mechanism = "gssapi" },
			[]string{`kafka_security.sasl.mechanism: "gssapi" must be none, plain, scram-sha-256 or scram-sha-512`}},
		{"SASL without credentials", func(c *Config) { c.KafkaSecurity.SASL.Mechanism = "scram-sha-256" },
			[]string{"kafka_security.sasl.username: required", "kafka_security.sasl.password: required with kafka_security.sasl.mechanism scram-sha-256; pass it from a secret: CLVSTREAM_KAFKA_SECURITY_SASL_PASSWORD"}},
		{"credentials without a mechanism", func(c *Config) { c.KafkaSecurity.SASL.Username, c.KafkaSecurity.SASL.Password = "u", "p" },
			[]string{"kafka_security.sasl.mechanism: is none, so kafka_security.sasl.username and password would be ignored"}},
		{"TLS files with TLS off", func(c *Config) {
			c.KafkaSecurity.TLS.CAFile, c.KafkaSecurity.TLS.InsecureSkipVerify = "ca.pem", true
		}, []string{"kafka_security.tls.enabled: is false, so kafka_security.tls.ca_file, kafka_security.tls.insecure_skip_verify would be ignored; set kafka_security.tls.enabled: true"}},
		{"certificate without key", func(c *Config) { c.KafkaSecurity.TLS.Enabled, c.KafkaSecurity.TLS.CertFile = true, "c.pem" },
			[]string{"kafka_security.tls.key_file: required with kafka_security.tls.cert_file"}},
		{"key without certificate", func(c *Config) { c.KafkaSecurity.TLS.Enabled, c.KafkaSecurity.TLS.KeyFile = true, "k.pem" },
			[]string{"kafka_security.tls.cert_file: required with kafka_security.tls.key_file"}},
		{"unknown Redis mode", func(c *Config) { c.Redis.Mode = "replica" },
			[]string{`redis.mode: "replica" must be standalone, cluster or sentinel`}},
		{"standalone with addrs and a master name", func(c *Config) { c.Redis.Addrs, c.Redis.MasterName = []string{"r:6379"}, "m" },
			[]string{"redis.addrs: only used with redis.mode cluster or sentinel", "redis.master_name: only used with redis.mode sentinel"}},
		{"cluster without seeds, with a database", func(c *Config) { c.Redis.Mode, c.Redis.DB = "cluster", 2 },
			[]string{"redis.addrs: redis.mode cluster needs the seed nodes", "redis.db: 2, but Redis Cluster has only database 0"}},
		{"sentinel without sentinels or master", func(c *Config) { c.Redis.Mode = "sentinel" },
			[]string{"redis.addrs: redis.mode sentinel needs the sentinel addresses", "redis.master_name: required with redis.mode sentinel"}},
		{"bad addresses", func(c *Config) {
			c.Redis.Mode, c.Redis.Addrs = "cluster", []string{"ok:6379", "no-port", ":6379", "h:port"}
		},
			[]string{`redis.addrs[1]: "no-port" must be host:port`, `redis.addrs[2]: ":6379"`, `redis.addrs[3]: "h:port"`}},
		{"Redis TLS options with TLS off", func(c *Config) { c.Redis.TLS.CAFile = "ca.pem" },
			[]string{"redis.tls.enabled: is false, so redis.tls.ca_file and redis.tls.insecure_skip_verify would be ignored; set redis.tls.enabled: true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{}.WithDefaults()
			c.Kafka.Brokers = []string{"localhost:9092"}
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want errors")
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", n, len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}

	// Valid combinations.
	for name, mutate := range map[string]func(c *Config){
		"mutual TLS and SCRAM": func(c *Config) {
			c.KafkaSecurity.TLS = KafkaTLS{Enabled: true, CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem"}
			c.KafkaSecurity.SASL = KafkaSASL{Mechanism: "scram-sha-512", Username: "u", Password: "p"}
		},
		"cluster": func(c *Config) { c.Redis.Mode, c.Redis.Addrs = "cluster", []string{"c-0:6379", "[::1]:6380"} },
		"sentinel with TLS": func(c *Config) {
			c.Redis.Mode, c.Redis.Addrs, c.Redis.MasterName = "sentinel", []string{"s:26379"}, "mymaster"
			c.Redis.TLS = RedisTLS{Enabled: true, InsecureSkipVerify: true}
		},
	} {
		c := Config{}.WithDefaults()
		c.Kafka.Brokers = []string{"localhost:9092"}
		mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Every example event of api/schemas is accepted under the example
// configuration deployments/clvstream.yaml: an example a user copies must
// not be dead-lettered (the yen purchase needs a JPY rate there).
func TestSchemaExamplesAcceptedByExampleConfig(t *testing.T) {
	cfg, err := Load("../../deployments/clvstream.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := event.NewDecoder(cfg.DecoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../api/schemas/*.json")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var schema struct {
			Examples []json.RawMessage `json:"examples"`
		}
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, ex := range schema.Examples {
			n++
			if _, err := dec.Decode(ex, nil); err != nil {
				t.Errorf("%s example %d is rejected under deployments/clvstream.yaml: %v", filepath.Base(f), i+1, err)
			}
		}
	}
	if n < len(files) {
		t.Errorf("only %d examples in %d schemas", n, len(files))
	}
}

// input.max_amount reaches the decoder from every layer, and a negative
// one is refused naming the option.
func TestInputMaxAmount(t *testing.T) {
	c, err := Load("", []string{"CLVSTREAM_KAFKA_BROKERS=a:9092", "CLVSTREAM_INPUT_MAX_AMOUNT=500000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := event.NewDecoder(c.DecoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	if d.MaxAmount() != 500000 {
		t.Errorf("decoder MaxAmount() = %d, want 500000 from CLVSTREAM_INPUT_MAX_AMOUNT", d.MaxAmount())
	}
	_, err = Load("", nil, []string{"kafka.brokers=a:9092", "input.max_amount=-1"})
	if err == nil || !strings.Contains(err.Error(), "max_amount") || !strings.Contains(err.Error(), "negative") {
		t.Errorf("input.max_amount=-1: Load error %v, want one naming max_amount", err)
	}
}

// Rules that test referrals need the referrals topic: without it the count
// is 0 for everyone, which the validation says (with the fix) instead of
// letting the rule silently never match.
func TestReferralRulesNeedTheReferralsTopic(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - {name: ambassador, when: \"referrals >= 3\"}\n  - {name: rest, when: \"true\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{}.WithDefaults()
	c.Scoring.SegmentRulesFile = rules
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "kafka.topics.referrals is not set") || !strings.Contains(err.Error(), "scoring.segment_rules_file") {
		t.Fatalf("Validate = %v, want the missing referrals topic named", err)
	}
	c.Kafka.Topics.Referrals = "clv.referrals"
	if err := c.Validate(); err != nil {
		t.Fatalf("with kafka.topics.referrals set: %v", err)
	}
	c.Kafka.Topics.Referrals = c.Kafka.Topics.Purchases
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "kafka.topics.referrals") {
		t.Fatalf("referrals topic equal to purchases: %v", err)
	}
}
