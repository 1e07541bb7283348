// Package composecheck checks docker-compose.yml without Docker: the
// references between services, the files and volumes it mounts, the
// images it builds, the health checks its start-up order relies on, the
// topics kafka-init creates against the ones clvstream reads, the host
// ports, and that every clvstream container's command is a real subcommand
// whose configuration (file plus environment) loads.
package composecheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clvstream/clvstream/internal/config"
)

const root = "../.."

type compose struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string         `yaml:"image"`
	Build       *build         `yaml:"build"`
	Command     any            `yaml:"command"`
	Entrypoint  any            `yaml:"entrypoint"`
	Environment map[string]any `yaml:"environment"`
	Volumes     []any          `yaml:"volumes"`
	Ports       []any          `yaml:"ports"`
	DependsOn   any            `yaml:"depends_on"`
	Healthcheck *struct {
		Test    any  `yaml:"test"`
		Disable bool `yaml:"disable"`
	} `yaml:"healthcheck"`
	Restart  string   `yaml:"restart"`
	Profiles []string `yaml:"profiles"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// UnmarshalYAML accepts the short form (build: DIR) too.
func (b *build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain build
	return n.Decode((*plain)(b))
}

func load(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

// dependsOn returns the dependencies of s with their conditions
// (service_started for the list form).
func dependsOn(t *testing.T, name string, s service) map[string]string {
	out := map[string]string{}
	switch d := s.DependsOn.(type) {
	case nil:
	case []any:
		for _, v := range d {
			out[v.(string)] = "service_started"
		}
	case map[string]any:
		for k, v := range d {
			cond, _ := v.(map[string]any)["condition"].(string)
			if cond == "" {
				cond = "service_started"
			}
			out[k] = cond
		}
	default:
		t.Errorf("%s: depends_on is neither a list nor a map", name)
	}
	return out
}

// interpolate resolves ${VAR}, ${VAR:-default} and ${VAR-default} as
// compose does with an empty environment; $$ is a literal $.
var varRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}`)

func interpolate(s string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := varRef.FindStringSubmatch(m)
		return sub[3] // unset: the default, or empty
	})
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, interpolate(x.(string)))
		}
		return out
	}
	return nil
}

func TestDependencies(t *testing.T) {
	c := load(t)
	for name, s := range c.Services {
		for dep, cond := range dependsOn(t, name, s) {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
				continue
			}
			switch cond {
			case "service_started":
			case "service_healthy":
				if target.Healthcheck == nil || target.Healthcheck.Disable || target.Healthcheck.Test == nil {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case "service_completed_successfully":
				if target.Restart != "no" && target.Restart != "" {
					t.Errorf("%s waits for %s to complete, but %s restarts (%s)", name, dep, dep, target.Restart)
				}
			default:
				t.Errorf("%s depends on %s with unknown condition %q", name, dep, cond)
			}
			// A service in a profile is not started by a plain `up`;
			// a service outside every profile must not wait for it.
			if len(target.Profiles) > 0 && len(s.Profiles) == 0 {
				t.Errorf("%s depends on %s, which only runs with profiles %v", name, dep, target.Profiles)
			}
		}
	}
}

func TestMountsAndVolumes(t *testing.T) {
	c := load(t)
	used := map[string]bool{}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			var src, typ string
			switch v := v.(type) {
			case string:
				parts := strings.Split(interpolate(v), ":")
				if len(parts) < 2 {
					t.Errorf("%s: volume %q has no target", name, v)
					continue
				}
				src = parts[0]
				typ = "volume"
				if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "~") {
					typ = "bind"
				}
			case map[string]any:
				src, _ = v["source"].(string)
				typ, _ = v["type"].(string)
			}
			switch typ {
			case "bind":
				if filepath.IsAbs(src) || strings.HasPrefix(src, "~") {
					t.Errorf("%s: bind mount %s is outside the repository", name, src)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s: bind-mounted %s does not exist in the repository", name, src)
				}
			case "volume":
				used[src] = true
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: named volume %s is not declared under volumes:", name, src)
				}
			}
		}
	}
	for v := range c.Volumes {
		if !used[v] {
			t.Errorf("volume %s is declared but no service uses it", v)
		}
	}
}

func TestBuilds(t *testing.T) {
	c := load(t)
	built := map[string]bool{}
	for name, s := range c.Services {
		if s.Build == nil {
			continue
		}
		ctx := filepath.Join(root, s.Build.Context)
		if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
			t.Errorf("%s: build context %s is not a directory", name, s.Build.Context)
		}
		df := s.Build.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if _, err := os.Stat(filepath.Join(ctx, df)); err != nil {
			t.Errorf("%s: dockerfile %s does not exist in context %s", name, df, s.Build.Context)
		}
		if s.Image != "" {
			built[s.Image] = true
		}
	}
	// A service that runs a locally built image builds it too, so that
	// `docker compose up SERVICE` does not try to pull it.
	for name, s := range c.Services {
		if built[s.Image] && s.Build == nil {
			t.Errorf("%s runs the locally built %s but has no build section", name, s.Image)
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s has neither image nor build", name)
		}
	}
}

func TestHostPortsUnique(t *testing.T) {
	c := load(t)
	seen := map[string]string{}
	for name, s := range c.Services {
		for _, p := range s.Ports {
			spec := interpolate(strings.Split(p.(string), "/")[0])
			parts := strings.Split(spec, ":")
			if len(parts) < 2 {
				continue // container port only: Docker picks the host port
			}
			host := strings.Join(parts[:len(parts)-1], ":")
			port := parts[len(parts)-2]
			if _, err := strconv.Atoi(port); err != nil {
				t.Errorf("%s: host port %q is not a number", name, port)
			}
			// 127.0.0.1:8080 and 8080 (all interfaces) collide too.
			for _, key := range []string{host, port} {
				if other, dup := seen[key]; dup && other != name {
					t.Errorf("host port %s (%s) is published by %s and %s", port, host, other, name)
				}
			}
			seen[host], seen[port] = name, name
		}
	}
}

// topicPartitions reads the topics kafka-init creates and their partition
// counts from its script: `for topic in A B; do ... --partitions N` loops
// and single `--topic X ... --partitions N` commands.
func topicPartitions(t *testing.T, script string) map[string]int {
	t.Helper()
	out := map[string]int{}
	script = strings.ReplaceAll(script, "\\\n", " ") // join continued lines
	partitions := regexp.MustCompile(`--partitions[ =](\d+)`)
	loop := regexp.MustCompile(`(?s)for (\w+) in ([^;\n]+);?\s*do(.*?)done`)
	for _, m := range loop.FindAllStringSubmatch(script, -1) {
		p := partitions.FindStringSubmatch(m[3])
		if p == nil || !strings.Contains(m[3], "--create") {
			continue
		}
		n, _ := strconv.Atoi(p[1])
		for _, topic := range strings.Fields(m[2]) {
			out[strings.Trim(topic, `"'`)] = n
		}
		script = strings.Replace(script, m[0], "", 1)
	}
	single := regexp.MustCompile(`--create[^\n]*`)
	topicArg := regexp.MustCompile(`--topic[ =]["']?([\w.\-]+)`)
	for _, cmd := range single.FindAllString(script, -1) {
		tm, pm := topicArg.FindStringSubmatch(cmd), partitions.FindStringSubmatch(cmd)
		if tm != nil && pm != nil {
			n, _ := strconv.Atoi(pm[1])
			out[tm[1]] = n
		}
	}
	return out
}

// clvConfig loads the configuration a clvstream container runs with: the
// --config file (found through its bind mount) and its CLVSTREAM_*
// environment.
func clvConfig(t *testing.T, name string, s service) config.Config {
	t.Helper()
	cmd := strs(s.Command)
	i := slices.Index(cmd, "--config")
	if i < 0 || i+1 >= len(cmd) {
		t.Fatalf("%s: command %v has no --config FILE", name, cmd)
	}
	file := ""
	for _, v := range s.Volumes {
		if str, ok := v.(string); ok {
			parts := strings.Split(str, ":")
			if len(parts) >= 2 && parts[1] == cmd[i+1] {
				file = filepath.Join(root, parts[0])
			}
		}
	}
	if file == "" {
		t.Fatalf("%s: --config %s is not bind-mounted", name, cmd[i+1])
	}
	var env []string
	for k, v := range s.Environment {
		if strings.HasPrefix(k, "CLVSTREAM_") {
			env = append(env, k+"="+interpolate(v.(string)))
		}
	}
	c, err := config.Load(file, env, nil)
	if err != nil {
		t.Fatalf("%s: configuration %s does not load: %v", name, file, err)
	}
	return c
}

// The services running the clvstream image: real subcommands with known
// flags, configurations that load, and what `run` needs at start-up.
func TestClvstreamServices(t *testing.T) {
	c := load(t)
	mainGo, err := os.ReadFile(filepath.Join(root, "cmd/clvstream/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, s := range c.Services {
		if s.Build == nil || !strings.Contains(s.Build.Dockerfile, "deployments/Dockerfile") {
			continue
		}
		n++
		cmd := strs(s.Command)
		if len(cmd) == 0 {
			t.Errorf("%s: no command", name)
			continue
		}
		if !strings.Contains(string(mainGo), `case "`+cmd[0]+`":`) {
			t.Errorf("%s: %q is not a clvstream subcommand (cmd/clvstream/main.go)", name, cmd[0])
		}
		for _, arg := range cmd[1:] {
			if flag, ok := strings.CutPrefix(arg, "--"); ok {
				flag, _, _ = strings.Cut(flag, "=")
				if !strings.Contains(string(mainGo), `"`+flag+`"`) {
					t.Errorf("%s: flag --%s is not defined in cmd/clvstream/main.go", name, flag)
				}
			}
		}
		cfg := clvConfig(t, name, s)
		if cmd[0] == "run" && cfg.HTTP.Auth == "bearer" && len(cfg.HTTP.APITokens) == 0 {
			t.Errorf("%s: http.auth is bearer but no http.api_tokens are set (CLVSTREAM_HTTP_API_TOKENS): clvstream run refuses to start", name)
		}
		if cmd[0] == "loadgen" && len(s.Profiles) == 0 {
			t.Errorf("%s: synthetic traffic must not run on a plain `docker compose up`; put it in a profile", name)
		}
	}
	if n < 2 {
		t.Errorf("found %d clvstream services, want run and loadgen", n)
	}
}

// kafka-init creates every topic clvstream uses, the inputs with one
// partition count.
func TestKafkaTopics(t *testing.T) {
	c := load(t)
	initSvc, ok := c.Services["kafka-init"]
	if !ok {
		t.Fatal("no kafka-init service")
	}
	var parts []string
	switch cmd := initSvc.Command.(type) {
	case string:
		parts = []string{interpolate(cmd)}
	case []any:
		for _, p := range cmd {
			parts = append(parts, interpolate(p.(string)))
		}
	}
	script := strings.Join(parts, "\n")
	topics := topicPartitions(t, script)
	cfg := clvConfig(t, "clvstream", c.Services["clvstream"])
	tp := cfg.Kafka.Topics
	for _, topic := range []string{tp.Purchases, tp.Tickets, tp.Emails, tp.SegmentChanges, tp.DeadLetter} {
		if topics[topic] <= 0 {
			t.Errorf("kafka-init does not create %s (creates %v)", topic, topics)
		}
	}
	counts := map[int][]string{}
	for _, in := range tp.Inputs() {
		counts[topics[in]] = append(counts[topics[in]], in)
	}
	if len(counts) != 1 {
		t.Errorf("the input topics are not co-partitioned: %v", counts)
	}
	// The compose comments promise segment-changes keyed like the inputs.
	if topics[tp.SegmentChanges] != topics[tp.Purchases] {
		t.Errorf("%s has %d partitions, the inputs %d", tp.SegmentChanges, topics[tp.SegmentChanges], topics[tp.Purchases])
	}
	if len(topics) < 5 {
		t.Errorf("parsed only %v from kafka-init", topics)
	}
}

// The parsers above on known input, so a pass means something.
func TestParsers(t *testing.T) {
	got := topicPartitions(t, "for topic in a b; do\n  kafka-topics.sh --create --topic \"$$topic\" --partitions 6\ndone\nkafka-topics.sh --create --if-not-exists \\\n  --topic c --partitions 3")
	if got["a"] != 6 || got["b"] != 6 || got["c"] != 3 || len(got) != 3 {
		t.Errorf("topicPartitions = %v", got)
	}
	if s := interpolate("${A:-x}/${B}/$$HOME/${C-y}"); s != "x//$HOME/y" {
		t.Errorf("interpolate = %q", s)
	}
}
