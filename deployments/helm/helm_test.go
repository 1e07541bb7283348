// Package helmcheck renders the Helm chart in clvstream/ with the real helm
// binary and checks the manifests: the kinds, the wiring between them
// (labels, ports, names), the pod's safety settings, and that the rendered
// configuration plus the Secret's variables load with clvstream's own
// config loader. scripts/helm.sh builds helm and runs this test; without a
// helm binary the test skips (fails with CLV_TEST_REQUIRE_HELM set).
package helmcheck

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/clvstream/clvstream/internal/config"
)

const chart = "clvstream"

// helm returns the helm binary: $CLV_HELM, the one scripts/helm.sh builds
// into .cache/bin, or helm on PATH.
func helm(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CLV_HELM"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../.cache/bin/helm"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if os.Getenv("CLV_TEST_REQUIRE_HELM") != "" {
		t.Fatal("no helm binary: run scripts/helm.sh (it builds one into .cache/bin)")
	}
	t.Skip("no helm binary: run scripts/helm.sh (it builds one into .cache/bin) to check the chart")
	return ""
}

type obj = map[string]any

// render runs helm template with the --set flags and returns the
// manifests by kind (each kind at most once, as this chart renders).
func render(t *testing.T, sets ...string) map[string]obj {
	t.Helper()
	args := []string{"template", "rel", chart, "--namespace", "clv"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helm(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	byKind := map[string]obj{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var doc obj
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template output is not YAML: %v\n%s", err, out)
		}
		if doc == nil {
			continue
		}
		kind, _ := doc["kind"].(string)
		if kind == "" || doc["apiVersion"] == nil || get(doc, "metadata.name") == nil {
			t.Fatalf("a document without kind, apiVersion or metadata.name: %v", doc)
		}
		if _, dup := byKind[kind]; dup {
			t.Fatalf("two %s documents", kind)
		}
		byKind[kind] = doc
	}
	return byKind
}

// get walks a dotted path of map keys and [i] list indexes.
func get(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		if i := strings.Index(part, "["); i >= 0 {
			var n int
			fmt.Sscanf(part[i:], "[%d]", &n)
			if m, ok := v.(obj); ok {
				v = m[part[:i]]
			} else {
				return nil
			}
			l, ok := v.([]any)
			if !ok || n >= len(l) {
				return nil
			}
			v = l[n]
			continue
		}
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// configFile is the ConfigMap's clvstream.yaml.
func configFile(m map[string]obj) (string, bool) {
	data, _ := get(m["ConfigMap"], "data").(obj)
	body, ok := data["clvstream.yaml"].(string)
	return body, ok
}

func kinds(m map[string]obj) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// loadConfig loads the ConfigMap's clvstream.yaml with the Secret's
// variables as the environment, as the pod does.
func loadConfig(t *testing.T, m map[string]obj) (config.Config, []string) {
	t.Helper()
	body, ok := configFile(m)
	if !ok {
		t.Fatal("the ConfigMap has no data.clvstream.yaml")
	}
	path := filepath.Join(t.TempDir(), "clvstream.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	if s, ok := m["Secret"]; ok {
		data, _ := s["data"].(obj)
		for k, v := range data {
			b, err := base64.StdEncoding.DecodeString(v.(string))
			if err != nil {
				t.Fatalf("Secret key %s is not base64: %v", k, err)
			}
			env = append(env, k+"="+string(b))
		}
	}
	c, err := config.Load(path, env, nil)
	if err != nil {
		t.Fatalf("the rendered configuration does not load:\n%v\n--- clvstream.yaml\n%s", err, body)
	}
	return c, env
}

func TestDefaultValues(t *testing.T) {
	m := render(t)
	if got, want := kinds(m), []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	cfg, env := loadConfig(t, m)
	if cfg.HTTP.Auth != "bearer" || len(cfg.HTTP.APITokens) != 1 || len(cfg.HTTP.APITokens[0]) < 16 {
		t.Errorf("default auth %q with tokens %d: want bearer with one generated token", cfg.HTTP.Auth, len(cfg.HTTP.APITokens))
	}
	if len(env) != 1 {
		t.Errorf("Secret variables %v, want only the API token", env)
	}

	d := m["Deployment"]
	pod := get(d, "spec.template").(obj)
	c := get(pod, "spec.containers[0]").(obj)
	if r := get(d, "spec.replicas"); r != 3 {
		t.Errorf("replicas %v, want 3", r)
	}

	// Probes on the named port, which is 8080 and the configured http.addr.
	if p := get(c, "ports[0]"); get(p, "name") != "http" || get(p, "containerPort") != 8080 {
		t.Errorf("container port %v, want http 8080", p)
	}
	if _, port, _ := net.SplitHostPort(cfg.HTTP.Addr); port != "8080" {
		t.Errorf("http.addr %s does not listen on the container port 8080", cfg.HTTP.Addr)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if get(c, probe+".httpGet.path") != path || get(c, probe+".httpGet.port") != "http" {
			t.Errorf("%s %v, want GET %s on port http", probe, c[probe], path)
		}
	}

	// Resources, security.
	for _, k := range []string{"requests.cpu", "requests.memory", "limits.cpu", "limits.memory"} {
		if get(c, "resources."+k) == nil {
			t.Errorf("resources.%s is not set", k)
		}
	}
	for path, want := range map[string]any{
		"spec.securityContext.runAsNonRoot":        true,
		"spec.securityContext.runAsUser":           65532,
		"spec.automountServiceAccountToken":        false,
		"spec.securityContext.seccompProfile.type": "RuntimeDefault",
	} {
		if got := get(pod, path); got != want {
			t.Errorf("pod %s = %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string]any{
		"securityContext.readOnlyRootFilesystem":   true,
		"securityContext.allowPrivilegeEscalation": false,
		"securityContext.runAsNonRoot":             true,
		"securityContext.capabilities.drop[0]":     "ALL",
	} {
		if got := get(c, path); got != want {
			t.Errorf("container %s = %v, want %v", path, got, want)
		}
	}

	// SIGTERM drains within kafka.shutdown_timeout; stream.Service waits
	// that plus 5s for its tasks. The grace period must cover both.
	grace, _ := get(pod, "spec.terminationGracePeriodSeconds").(int)
	if need := cfg.Kafka.ShutdownTimeout + 5*time.Second; time.Duration(grace)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds %d does not exceed kafka.shutdown_timeout %v + 5s", grace, cfg.Kafka.ShutdownTimeout)
	}

	// The config file the container reads is the ConfigMap's.
	args, _ := c["args"].([]any)
	cfgPath := ""
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			cfgPath, _ = args[i+1].(string)
		}
	}
	if len(args) == 0 || args[0] != "run" || cfgPath == "" {
		t.Fatalf("container args %v, want run --config FILE", args)
	}
	mounted := false
	for _, vm := range c["volumeMounts"].([]any) {
		if get(vm, "mountPath") == cfgPath && get(vm, "subPath") == "clvstream.yaml" {
			for _, v := range get(pod, "spec.volumes").([]any) {
				if get(v, "name") == get(vm, "name") && get(v, "configMap.name") == get(m["ConfigMap"], "metadata.name") {
					mounted = true
				}
			}
		}
	}
	if !mounted {
		t.Errorf("%s is not the ConfigMap's clvstream.yaml", cfgPath)
	}
	if get(c, "envFrom[0].secretRef.name") != get(m["Secret"], "metadata.name") {
		t.Errorf("envFrom %v does not name the Secret %v", c["envFrom"], get(m["Secret"], "metadata.name"))
	}
	if get(pod, "metadata.annotations.checksum/config") == nil {
		t.Error("no checksum/config annotation: a config change would not roll the pods")
	}

	// Selectors: the Deployment's, the Service's and the PDB's select the pods.
	podLabels := get(pod, "metadata.labels").(obj)
	selects := func(what string, sel any) {
		t.Helper()
		s, ok := sel.(obj)
		if !ok || len(s) == 0 {
			t.Errorf("%s has no selector", what)
			return
		}
		for k, v := range s {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%v, the pods have %v", what, k, v, podLabels[k])
			}
		}
	}
	selects("Deployment", get(d, "spec.selector.matchLabels"))
	selects("Service", get(m["Service"], "spec.selector"))
	selects("PodDisruptionBudget", get(m["PodDisruptionBudget"], "spec.selector.matchLabels"))
	selects("topologySpreadConstraints", get(pod, "spec.topologySpreadConstraints[0].labelSelector.matchLabels"))
	if get(m["Service"], "spec.ports[0].targetPort") != "http" {
		t.Errorf("Service targetPort %v, want http", get(m["Service"], "spec.ports[0].targetPort"))
	}
	if get(m["PodDisruptionBudget"], "spec.maxUnavailable") != 1 || get(m["PodDisruptionBudget"], "apiVersion") != "policy/v1" {
		t.Errorf("PDB %v, want policy/v1 with maxUnavailable 1", m["PodDisruptionBudget"]["spec"])
	}
}

func TestServiceMonitor(t *testing.T) {
	m := render(t, "serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus")
	if got, want := kinds(m), []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service", "ServiceMonitor"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	sm := m["ServiceMonitor"]
	if sm["apiVersion"] != "monitoring.coreos.com/v1" || get(sm, "metadata.labels.release") != "prometheus" {
		t.Errorf("ServiceMonitor %v %v", sm["apiVersion"], get(sm, "metadata.labels"))
	}
	svcLabels := get(m["Service"], "metadata.labels").(obj)
	for k, v := range get(sm, "spec.selector.matchLabels").(obj) {
		if svcLabels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%v, the Service has %v", k, v, svcLabels[k])
		}
	}
	if get(sm, "spec.endpoints[0].port") != get(m["Service"], "spec.ports[0].name") || get(sm, "spec.endpoints[0].path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v, want the Service's port and /metrics", get(sm, "spec.endpoints[0]"))
	}
	loadConfig(t, m)
}

// Secrets: values become CLVSTREAM_* variables the loader accepts; an
// existing Secret replaces the chart's.
func TestSecrets(t *testing.T) {
	m := render(t,
		"config.kafka_security.sasl.mechanism=scram-sha-512", "config.kafka_security.sasl.username=clv",
		"secrets.kafkaSaslPassword=sasl-pw", "secrets.redisPassword=redis-pw",
		"secrets.apiTokens=0123456789abcdef0123\\,fedcba9876543210fedc")
	cfg, _ := loadConfig(t, m)
	if cfg.KafkaSecurity.SASL.Password != "sasl-pw" || cfg.Redis.Password != "redis-pw" ||
		!slices.Equal(cfg.HTTP.APITokens, []string{"0123456789abcdef0123", "fedcba9876543210fedc"}) {
		t.Errorf("secrets did not reach the configuration: sasl %q redis %q tokens %v", cfg.KafkaSecurity.SASL.Password, cfg.Redis.Password, cfg.HTTP.APITokens)
	}
	if body, _ := configFile(m); strings.Contains(body, "-pw") {
		t.Error("a password is in the ConfigMap")
	}

	m = render(t, "secrets.existingSecret=clv-secrets")
	if _, ok := m["Secret"]; ok {
		t.Error("a Secret is rendered although secrets.existingSecret is set")
	}
	if got := get(m["Deployment"], "spec.template.spec.containers[0].envFrom[0].secretRef.name"); got != "clv-secrets" {
		t.Errorf("envFrom names %v, want clv-secrets", got)
	}

	m = render(t, "config.http.auth=none")
	if data, _ := m["Secret"]["data"].(obj); len(data) != 0 {
		t.Errorf("with http.auth none the Secret holds %v, want nothing", data)
	}
	loadConfig(t, m)

	// TLS files from a Secret mounted where the configuration expects them.
	m = render(t, "certificates.secretName=clv-tls", "config.kafka_security.tls.enabled=true",
		"config.kafka_security.tls.ca_file=/etc/clvstream/tls/ca.crt")
	pod := get(m["Deployment"], "spec.template.spec").(obj)
	found := false
	for _, vm := range get(pod, "containers[0].volumeMounts").([]any) {
		if get(vm, "mountPath") == "/etc/clvstream/tls" && get(vm, "readOnly") == true {
			found = true
		}
	}
	if !found || get(pod, "volumes[1].secret.secretName") != "clv-tls" {
		t.Errorf("certificates Secret not mounted at /etc/clvstream/tls: %v", pod["volumes"])
	}
	loadConfig(t, m)
}
