package api

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"
)

const specPath = "../../api/openapi.yaml"

// openAPI is the loaded api/openapi.yaml with a small JSON Schema checker
// (the subset the file uses: $ref, type, properties, required,
// additionalProperties, items, enum, const, oneOf, minimum, maximum,
// minLength, maxLength, pattern and the date / date-time formats).
type openAPI struct{ root map[string]any }

func loadSpec(t testing.TB) *openAPI {
	t.Helper()
	b, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s: %v", specPath, err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("%s: openapi %q, want 3.1.x", specPath, v)
	}
	return &openAPI{root: root}
}

// operations returns "METHOD /path" for every operation of the spec.
func (s *openAPI) operations() []string {
	var out []string
	paths, _ := s.root["paths"].(map[string]any)
	for p, item := range paths {
		for m := range item.(map[string]any) {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ref resolves a local "#/a/b" reference.
func (s *openAPI) ref(ref string) map[string]any {
	var cur any = s.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (s *openAPI) deref(m map[string]any) map[string]any {
	for m != nil {
		r, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		m = s.ref(r)
	}
	return m
}

// response returns the documented response of an operation for a status.
func (s *openAPI) response(method, path string, status int) (map[string]any, error) {
	paths, _ := s.root["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return nil, fmt.Errorf("%s %s is not documented", method, path)
	}
	resps, _ := op["responses"].(map[string]any)
	r, _ := resps[fmt.Sprint(status)].(map[string]any)
	if r == nil {
		return nil, fmt.Errorf("%s %s: status %d is not documented", method, path, status)
	}
	return s.deref(r), nil
}

// jsonSchema returns the application/json schema of a response.
func (s *openAPI) jsonSchema(resp map[string]any) map[string]any {
	content, _ := resp["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	sch, _ := js["schema"].(map[string]any)
	return sch
}

// check validates v (decoded JSON) against schema; it returns every
// violation with its location.
func (s *openAPI) check(schema map[string]any, v any, at string) []string {
	schema = s.deref(schema)
	if schema == nil {
		return []string{at + ": unresolvable schema"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if one, ok := schema["oneOf"].([]any); ok {
		n := 0
		for _, alt := range one {
			if len(s.check(alt.(map[string]any), v, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of the oneOf alternatives, want exactly 1", n)
		}
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("is %v, want const %v", v, c)
	}
	if enum, ok := schema["enum"].([]any); ok {
		if !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
			fail("%v is not one of %v", v, enum)
		}
	}
	var types []string
	switch t := schema["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	if len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
		fail("%s is not of type %v", describe(v), types)
		return errs
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asList(schema["required"]) {
			if _, ok := x[r]; !ok {
				fail("required property %q is missing", r)
			}
		}
		for k, val := range x {
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, s.check(p, val, at+"."+k)...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not documented", k)
				}
			case map[string]any:
				errs = append(errs, s.check(ap, val, at+"."+k)...)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, val := range x {
				errs = append(errs, s.check(items, val, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case float64:
		if m, ok := num(schema["minimum"]); ok && x < m {
			fail("%v < minimum %v", x, m)
		}
		if m, ok := num(schema["maximum"]); ok && x > m {
			fail("%v > maximum %v", x, m)
		}
	case string:
		if m, ok := num(schema["minLength"]); ok && float64(len([]rune(x))) < m {
			fail("shorter than %v", m)
		}
		if m, ok := num(schema["maxLength"]); ok && float64(len([]rune(x))) > m {
			fail("longer than %v", m)
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			fail("%q does not match %s", x, p)
		}
		switch schema["format"] {
		case "date":
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				fail("%q is not a date", x)
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				fail("%q is not a date-time", x)
			}
		}
	}
	return errs
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:60], "..."...)
	}
	return string(b)
}

func asList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// conforms checks a JSON response body against the documented response of
// the operation (path is the route's template) for its status.
func (s *openAPI) conforms(t testing.TB, method, path string, status int, body []byte) {
	t.Helper()
	resp, err := s.response(method, path, status)
	if err != nil {
		t.Errorf("openapi: %v", err)
		return
	}
	sch := s.jsonSchema(resp)
	if sch == nil {
		t.Errorf("openapi: %s %s %d has no application/json schema", method, path, status)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s %d: body is not JSON: %v\n%s", method, path, status, err, body)
		return
	}
	for _, e := range s.check(sch, v, "body") {
		t.Errorf("%s %s %d: %s", method, path, status, e)
	}
}

func TestOpenAPIDocumentsEveryRouteAndNothingElse(t *testing.T) {
	spec := loadSpec(t)
	srv, err := NewAPI("unused", prometheus.NewRegistry(), okReady{}, &stubQuery{}, Auth{Enabled: true, Tokens: []string{testToken}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	served := srv.Routes()
	sort.Strings(served)
	documented := spec.operations()
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is served but not documented in %s", r, specPath)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("%q is documented in %s but not served", d, specPath)
		}
	}
	// Every /v1 operation documents the auth failure and is secured; the
	// operations endpoints are explicitly open.
	paths := spec.root["paths"].(map[string]any)
	for p, item := range paths {
		op := item.(map[string]any)["get"].(map[string]any)
		sec, hasSec := op["security"]
		if strings.HasPrefix(p, "/v1/") {
			if hasSec {
				t.Errorf("%s overrides the global bearer security", p)
			}
			if _, err := spec.response("GET", p, 401); err != nil {
				t.Error(err)
			}
		} else if l, _ := sec.([]any); !hasSec || len(l) != 0 {
			t.Errorf("%s: operations endpoint must declare security: []", p)
		}
	}
	if spec.ref("#/components/securitySchemes/bearer")["scheme"] != "bearer" {
		t.Error("no bearer security scheme")
	}
}

func TestSchemaCheckerCatchesViolations(t *testing.T) {
	spec := loadSpec(t)
	sch := spec.ref("#/components/schemas/Error")
	if errs := spec.check(sch, map[string]any{"error": "x"}, "body"); len(errs) != 0 {
		t.Fatalf("valid error body rejected: %v", errs)
	}
	if errs := spec.check(sch, map[string]any{"error": "x", "detail": 1}, "body"); len(errs) != 1 {
		t.Fatalf("undocumented property: %v", errs)
	}
	if errs := spec.check(sch, map[string]any{}, "body"); len(errs) != 1 {
		t.Fatalf("missing property: %v", errs)
	}
	rfm := map[string]any{"$ref": "#/components/schemas/Customer"}
	if errs := spec.check(rfm, map[string]any{"rfm": map[string]any{"r": 9.0}}, "body"); len(errs) < 5 {
		t.Fatalf("bad customer accepted: %v", errs)
	}
}
