package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clvstream/clvstream/pkg/event"
)

// These tests tie the JSON Schemas in api/schemas to the decoder: the
// examples decode, dropping a required field fails with that field named,
// every Type has a schema, every schema property is a Record field, and a
// set of bad records is rejected by both the schema and the decoder.

const schemaDir = "../../api/schemas"

type schemaFile struct {
	name   string // file name without .json
	raw    []byte
	schema map[string]any
}

// loadSchemas loads the schemas of the input types (api/schemas) and of
// the internal types (api/schemas/internal), which the same tests hold to
// the decoder.
func loadSchemas(t testing.TB) []schemaFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	internal, err := filepath.Glob(filepath.Join(schemaDir, "internal", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, internal...)
	if len(paths) == 0 {
		t.Fatalf("no schemas in %s", schemaDir)
	}
	var out []schemaFile
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, schemaFile{name: strings.TrimSuffix(filepath.Base(p), ".json"), raw: raw, schema: m})
	}
	return out
}

// examples returns the schema's examples, each re-encoded as JSON.
func examples(t testing.TB, s schemaFile) []map[string]any {
	t.Helper()
	exs, _ := s.schema["examples"].([]any)
	if len(exs) == 0 {
		t.Fatalf("%s: no examples", s.name)
	}
	var out []map[string]any
	for _, e := range exs {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("%s: example %v is not an object", s.name, e)
		}
		out = append(out, m)
	}
	return out
}

func stringList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func without(m map[string]any, keys ...string) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		if !slices.Contains(keys, k) {
			c[k] = v
		}
	}
	return c
}

func with(m map[string]any, k string, v any) map[string]any {
	c := without(m, k)
	c[k] = v
	return c
}

func TestSchemaShape(t *testing.T) {
	recordFields := map[string]bool{}
	rt := reflect.TypeFor[event.Record]()
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		recordFields[name] = true
	}
	for _, s := range loadSchemas(t) {
		m := s.schema
		if m["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %v, want draft 2020-12", s.name, m["$schema"])
		}
		for _, k := range []string{"$id", "title", "description"} {
			if v, _ := m[k].(string); v == "" {
				t.Errorf("%s: %s missing", s.name, k)
			}
		}
		if id, _ := m["$id"].(string); !strings.HasSuffix(id, "/"+s.name+".json") {
			t.Errorf("%s: $id %q does not end in /%s.json", s.name, id, s.name)
		}
		if m["additionalProperties"] != true {
			t.Errorf("%s: additionalProperties must be true", s.name)
		}
		props, _ := m["properties"].(map[string]any)
		typ, _ := props["type"].(map[string]any)
		if typ["const"] != s.name {
			t.Errorf("%s: properties.type.const = %v, want %q", s.name, typ["const"], s.name)
		}
		for name, p := range props {
			if !recordFields[name] {
				t.Errorf("%s: property %q is not a field of event.Record", s.name, name)
			}
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%s: property %q has no description", s.name, name)
			}
		}
		for _, r := range stringList(m["required"]) {
			if _, ok := props[r]; !ok {
				t.Errorf("%s: required %q is not in properties", s.name, r)
			}
		}
	}
}

// TestSchemaEveryType checks that every Type has a schema and every schema
// is a Type.
func TestSchemaEveryType(t *testing.T) {
	have := map[string]bool{}
	for _, s := range loadSchemas(t) {
		have[s.name] = true
	}
	for _, ty := range event.Types {
		if !have[string(ty)] {
			t.Errorf("type %s has no schema %s/%s.json", ty, schemaDir, ty)
		}
		delete(have, string(ty))
	}
	for _, ty := range event.InternalTypes {
		if !have[string(ty)] {
			t.Errorf("internal type %s has no schema %s/internal/%s.json", ty, schemaDir, ty)
		}
		delete(have, string(ty))
	}
	for name := range have {
		t.Errorf("schema %s.json is not an event.Type", name)
	}
}

// TestSchemaExamplesDecode checks that every example is valid under its
// schema and decodes to an Event of the schema's type.
func TestSchemaExamplesDecode(t *testing.T) {
	d := testDecoder(t)
	for _, s := range loadSchemas(t) {
		for i, ex := range examples(t, s) {
			b := marshal(t, ex)
			if errs := validate(s.schema, s.schema, ex, ""); len(errs) > 0 {
				t.Errorf("%s example %d is invalid under its own schema: %v", s.name, i, errs)
			}
			ev, err := d.Decode(b, nil)
			if err != nil {
				t.Errorf("%s example %d: Decode(%s): %v", s.name, i, b, err)
				continue
			}
			if string(ev.Type) != s.name {
				t.Errorf("%s example %d: type %s", s.name, i, ev.Type)
			}
			checkEvent(t, ev, testNow)
		}
	}
}

// defaulted lists required schema fields the decoder may legitimately fill
// in when absent (none today: refund_id and priority are optional, not
// required).
var defaulted = map[string]bool{}

// TestSchemaRequiredFields drops each required field (and each group of
// alternative fields from oneOf) from every example and expects the decoder
// to name the missing field.
func TestSchemaRequiredFields(t *testing.T) {
	d := testDecoder(t)
	for _, s := range loadSchemas(t) {
		var groups [][]string // fields that must all be dropped to violate the schema
		for _, r := range stringList(s.schema["required"]) {
			groups = append(groups, []string{r})
		}
		if alts, ok := s.schema["oneOf"].([]any); ok {
			var g []string
			for _, a := range alts {
				g = append(g, stringList(a.(map[string]any)["required"])...)
			}
			groups = append(groups, g)
		}
		for i, ex := range examples(t, s) {
			for _, g := range groups {
				if len(g) == 1 && defaulted[g[0]] {
					continue
				}
				rec := without(ex, g...)
				if errs := validate(s.schema, s.schema, rec, ""); len(errs) == 0 {
					t.Errorf("%s example %d without %v: schema accepts it", s.name, i, g)
				}
				_, err := d.Decode(marshal(t, rec), nil)
				var e *event.Error
				if !errors.As(err, &e) {
					t.Errorf("%s example %d without %v: Decode error %v, want *event.Error", s.name, i, g, err)
					continue
				}
				okReason := e.Reason == event.ReasonMissingField ||
					(g[0] == "type" && (e.Reason == event.ReasonInvalidField || e.Reason == event.ReasonUnknownType))
				if !okReason || !slices.Contains(g, e.Field) {
					t.Errorf("%s example %d without %v: error %q (reason %s, field %q); want missing_field naming %v",
						s.name, i, g, e, e.Reason, e.Field, g)
				}
			}
			// The other way round: a field the schema leaves optional must
			// not be required by the decoder.
			for k := range ex {
				if slices.ContainsFunc(groups, func(g []string) bool { return slices.Contains(g, k) }) {
					continue
				}
				if deps, _ := s.schema["dependentRequired"].(map[string]any); deps != nil && slices.ContainsFunc(slices.Collect(maps.Keys(ex)), func(f string) bool {
					d, ok := deps[f]
					return ok && slices.Contains(stringList(d), k)
				}) {
					continue // required with another field the example has
				}
				if _, err := d.Decode(marshal(t, without(ex, k)), nil); err != nil {
					t.Errorf("%s example %d without optional %q: decoder rejects it: %v", s.name, i, k, err)
				}
			}
		}
	}
}

// TestSchemaAndDecoderAgreeOnBadRecords mutates each example into records
// both the schema and the decoder must reject.
func TestSchemaAndDecoderAgreeOnBadRecords(t *testing.T) {
	d := testDecoder(t)
	type mutation struct {
		name  string
		apply func(map[string]any) map[string]any
		only  func(event.Type) bool // nil means all types
	}
	money := func(ty event.Type) bool { return ty == event.Purchase || ty == event.Refund }
	tickets := func(ty event.Type) bool { return strings.HasPrefix(string(ty), "ticket_") }
	surveys := func(ty event.Type) bool { return strings.HasPrefix(string(ty), "survey_") }
	messages := func(ty event.Type) bool { return strings.HasPrefix(string(ty), "message_") }
	subs := func(ty event.Type) bool { return strings.HasPrefix(string(ty), "subscription_") }
	priced := func(ty event.Type) bool { return ty == event.SubscriptionStarted || ty == event.SubscriptionRenewed }
	acquired := func(ty event.Type) bool { return ty == event.CustomerAcquired }
	amountKey := func(m map[string]any) string {
		if _, ok := m["amount"]; ok {
			return "amount"
		}
		return "amount_minor"
	}
	mutations := []mutation{
		{"empty customer_id", func(m map[string]any) map[string]any { return with(m, "customer_id", "") }, nil},
		{"blank customer_id", func(m map[string]any) map[string]any { return with(m, "customer_id", "  ") }, nil},
		{"customer_id with newline", func(m map[string]any) map[string]any { return with(m, "customer_id", "a\nb") }, nil},
		{"customer_id 129 bytes", func(m map[string]any) map[string]any { return with(m, "customer_id", strings.Repeat("c", 129)) }, nil},
		{"numeric customer_id", func(m map[string]any) map[string]any { return with(m, "customer_id", 42) }, nil},
		{"occurred_at without offset", func(m map[string]any) map[string]any { return with(m, "occurred_at", "2025-03-01T12:00:00") }, nil},
		{"wrong type", func(m map[string]any) map[string]any { return with(m, "type", "signup") }, nil},
		{"campaign with control char", func(m map[string]any) map[string]any { return with(m, "campaign", "a\x07") }, nil},
		{"amount as JSON number", func(m map[string]any) map[string]any {
			return with(without(m, "amount_minor"), "amount", 12.5)
		}, money},
		{"negative amount", func(m map[string]any) map[string]any {
			return with(without(m, "amount_minor"), "amount", "-1.00")
		}, money},
		{"amount with exponent", func(m map[string]any) map[string]any {
			return with(without(m, "amount_minor"), "amount", "1e3")
		}, money},
		{"both amount forms", func(m map[string]any) map[string]any {
			return with(with(m, "amount", "1"), "amount_minor", 100)
		}, money},
		{"fractional amount_minor", func(m map[string]any) map[string]any {
			return with(without(m, "amount"), "amount_minor", 1.5)
		}, money},
		{"lower-case currency", func(m map[string]any) map[string]any { return with(m, "currency", "usd") }, money},
		{"both margin forms", func(m map[string]any) map[string]any {
			return with(with(m, "margin", "0"), "margin_minor", 0)
		}, money},
		{"negative margin", func(m map[string]any) map[string]any { return with(without(m, "margin"), "margin_minor", -1) }, money},
		{"refund of 0", func(m map[string]any) map[string]any {
			return with(without(m, amountKey(m)), "amount_minor", 0)
		}, func(ty event.Type) bool { return ty == event.Refund }},
		{"unknown priority", func(m map[string]any) map[string]any { return with(m, "priority", "P1") }, tickets},
		{"csat 0", func(m map[string]any) map[string]any { return with(m, "csat", 0) }, tickets},
		{"csat 6", func(m map[string]any) map[string]any { return with(m, "csat", 6) }, tickets},
		{"csat 3 off ticket_resolved", func(m map[string]any) map[string]any { return with(m, "csat", 3) },
			func(ty event.Type) bool { return tickets(ty) && ty != event.TicketResolved }},
		{"unknown channel", func(m map[string]any) map[string]any { return with(m, "channel", "fax") }, messages},
		{"SMS open", func(m map[string]any) map[string]any { return with(m, "channel", "sms") },
			func(ty event.Type) bool { return ty == event.MessageOpened }},
		{"push click", func(m map[string]any) map[string]any { return with(m, "channel", "push") },
			func(ty event.Type) bool { return ty == event.MessageClicked }},
		{"unknown survey kind", func(m map[string]any) map[string]any { return with(m, "kind", "star") }, surveys},
		{"free-text comment", func(m map[string]any) map[string]any { return with(m, "comment", "late again") }, surveys},
		{"score 11", func(m map[string]any) map[string]any { return with(m, "score", 11) },
			func(ty event.Type) bool { return ty == event.SurveyResponded }},
		{"negative comment_length", func(m map[string]any) map[string]any { return with(m, "comment_length", -1) },
			func(ty event.Type) bool { return ty == event.SurveyResponded }},
		{"price as JSON number", func(m map[string]any) map[string]any {
			return with(with(without(m, "price_minor"), "price", 9.5), "currency", "USD")
		}, priced},
		{"negative price_minor", func(m map[string]any) map[string]any {
			return with(with(without(m, "price"), "price_minor", -1), "currency", "USD")
		}, priced},
		{"both price forms", func(m map[string]any) map[string]any {
			return with(with(with(m, "price", "1"), "price_minor", 100), "currency", "USD")
		}, priced},
		{"price without currency", func(m map[string]any) map[string]any {
			return without(with(without(m, "price_minor"), "price", "1.00"), "currency")
		}, priced},
		{"unknown period", func(m map[string]any) map[string]any { return with(m, "period", "fortnight") }, priced},
		{"plan 65 bytes", func(m map[string]any) map[string]any { return with(m, "plan", strings.Repeat("p", 65)) }, priced},
		{"empty subscription_id", func(m map[string]any) map[string]any { return with(m, "subscription_id", "") }, subs},
		{"price on a cancellation", func(m map[string]any) map[string]any {
			return with(with(m, "price", "1.00"), "currency", "USD")
		}, func(ty event.Type) bool { return ty == event.SubscriptionCancelled }},
		{"blank channel", func(m map[string]any) map[string]any { return with(m, "channel", " ") }, acquired},
		{"numeric referrer_id", func(m map[string]any) map[string]any { return with(m, "referrer_id", 7) }, acquired},
		{"acquisition_cost as JSON number", func(m map[string]any) map[string]any {
			return with(with(m, "acquisition_cost", 35.0), "currency", "USD")
		}, acquired},
		{"negative acquisition_cost_minor", func(m map[string]any) map[string]any {
			return with(with(without(m, "acquisition_cost"), "acquisition_cost_minor", -5), "currency", "USD")
		}, acquired},
	}
	for _, s := range loadSchemas(t) {
		ex := examples(t, s)[0]
		for _, mu := range mutations {
			if mu.only != nil && !mu.only(event.Type(s.name)) {
				continue
			}
			rec := mu.apply(ex)
			if errs := validate(s.schema, s.schema, rec, ""); len(errs) == 0 {
				t.Errorf("%s, %s: schema accepts %s", s.name, mu.name, marshal(t, rec))
			}
			if _, err := d.Decode(marshal(t, rec), nil); err == nil {
				t.Errorf("%s, %s: decoder accepts %s", s.name, mu.name, marshal(t, rec))
			}
		}
	}
}

// validate is a small JSON Schema validator for the keywords the schemas in
// api/schemas use. It returns one message per violation.
func validate(root, s map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	for k, kw := range s {
		switch k {
		case "$schema", "$id", "title", "description", "examples", "default", "additionalProperties":
			// annotations, or true (additional properties allowed)
		case "type":
			if !hasJSONType(v, kw.(string)) {
				fail("want %s, got %T", kw, v)
			}
		case "const":
			if !reflect.DeepEqual(v, kw) {
				fail("want const %v, got %v", kw, v)
			}
		case "enum":
			if !slices.ContainsFunc(kw.([]any), func(e any) bool { return reflect.DeepEqual(e, v) }) {
				fail("%v not in enum %v", v, kw)
			}
		case "pattern":
			if str, ok := v.(string); ok && !goRegexp(kw.(string)).MatchString(str) {
				fail("%q does not match %s", str, kw)
			}
		case "minLength":
			if str, ok := v.(string); ok && utf8.RuneCountInString(str) < int(kw.(float64)) {
				fail("shorter than %v", kw)
			}
		case "maxLength":
			if str, ok := v.(string); ok && utf8.RuneCountInString(str) > int(kw.(float64)) {
				fail("longer than %v", kw)
			}
		case "minimum":
			if n, ok := v.(float64); ok && n < kw.(float64) {
				fail("%v < minimum %v", n, kw)
			}
		case "maximum":
			if n, ok := v.(float64); ok && n > kw.(float64) {
				fail("%v > maximum %v", n, kw)
			}
		case "format":
			if str, ok := v.(string); ok && kw == "date-time" {
				if _, err := time.Parse(time.RFC3339, str); err != nil {
					fail("%q is not a date-time", str)
				}
			}
		case "required":
			if obj, ok := v.(map[string]any); ok {
				for _, r := range stringList(kw) {
					if _, ok := obj[r]; !ok {
						fail("missing required %q", r)
					}
				}
			}
		case "properties":
			if obj, ok := v.(map[string]any); ok {
				for name, ps := range kw.(map[string]any) {
					if pv, ok := obj[name]; ok {
						errs = append(errs, validate(root, ps.(map[string]any), pv, path+"/"+name)...)
					}
				}
			}
		case "oneOf":
			n := 0
			for _, sub := range kw.([]any) {
				if len(validate(root, sub.(map[string]any), v, path)) == 0 {
					n++
				}
			}
			if n != 1 {
				fail("matches %d of oneOf, want exactly 1", n)
			}
		case "not":
			if len(validate(root, kw.(map[string]any), v, path)) == 0 {
				fail("matches a forbidden schema %v", kw)
			}
		case "anyOf":
			if !slices.ContainsFunc(kw.([]any), func(sub any) bool { return len(validate(root, sub.(map[string]any), v, path)) == 0 }) {
				fail("matches none of anyOf")
			}
		case "dependentRequired":
			if obj, ok := v.(map[string]any); ok {
				for name, deps := range kw.(map[string]any) {
					if _, ok := obj[name]; !ok {
						continue
					}
					for _, r := range stringList(deps) {
						if _, ok := obj[r]; !ok {
							fail("%q requires %q", name, r)
						}
					}
				}
			}
		default:
			fail("validator does not support keyword %q", k)
		}
	}
	return errs
}

func hasJSONType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

var uEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

// goRegexp translates an ECMA-262 pattern (the subset used in the schemas:
// \uXXXX escapes) to Go syntax.
func goRegexp(p string) *regexp.Regexp {
	return regexp.MustCompile(uEscape.ReplaceAllString(p, `\x{$1}`))
}
