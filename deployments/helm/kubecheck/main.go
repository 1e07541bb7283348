// Command kubecheck reads Kubernetes manifests (helm template output) on
// stdin and decodes each document strictly into its Kubernetes API type, as
// the API server does: an unknown, misspelt (field names are case-sensitive)
// or duplicate field, a wrong type or an unknown kind is an error. Kinds outside k8s.io/api (the Prometheus Operator's
// ServiceMonitor) are checked for apiVersion, metadata.name and spec only.
// It prints one line per document and exits 1 on the first problem.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

func main() {
	in, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fail("read stdin: %v", err)
	}
	n := 0
	for _, doc := range splitDocs(in) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec any `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			fail("not YAML: %v\n%s", err, doc)
		}
		if head.Kind == "" && head.APIVersion == "" {
			continue // an empty document (comments only)
		}
		var target any
		switch head.APIVersion + "/" + head.Kind {
		case "apps/v1/Deployment":
			target = &appsv1.Deployment{}
		case "v1/Service":
			target = &corev1.Service{}
		case "v1/ConfigMap":
			target = &corev1.ConfigMap{}
		case "v1/Secret":
			target = &corev1.Secret{}
		case "policy/v1/PodDisruptionBudget":
			target = &policyv1.PodDisruptionBudget{}
		case "monitoring.coreos.com/v1/ServiceMonitor":
			if head.Metadata.Name == "" || head.Spec == nil {
				fail("%s without metadata.name or spec", head.Kind)
			}
			fmt.Printf("ok   %s/%s (CRD: apiVersion, name and spec only)\n", head.Kind, head.Metadata.Name)
			n++
			continue
		default:
			fail("unexpected kind %s %s: add it to kubecheck", head.APIVersion, head.Kind)
		}
		// As the API server decodes: case-sensitive field names, no
		// unknown or duplicate fields.
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			fail("%s/%s: %v", head.Kind, head.Metadata.Name, err)
		}
		strict, err := kjson.UnmarshalStrict(js, target)
		if err != nil {
			fail("%s/%s: %v", head.Kind, head.Metadata.Name, err)
		}
		if len(strict) > 0 {
			fail("%s/%s: %v", head.Kind, head.Metadata.Name, strict)
		}
		if head.Metadata.Name == "" {
			fail("%s without metadata.name", head.Kind)
		}
		fmt.Printf("ok   %s/%s (strict)\n", head.Kind, head.Metadata.Name)
		n++
	}
	if n == 0 {
		fail("no manifests on stdin")
	}
}

// splitDocs splits a YAML stream at its "---" separator lines.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.TrimRight(line, " \r\n") == "---" {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.Bytes())
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kubecheck: "+format+"\n", args...)
	os.Exit(1)
}
