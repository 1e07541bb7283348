package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/clvstream/clvstream/pkg/segment"
)

var durationType = reflect.TypeOf(time.Duration(0))

// decodeYAML decodes the YAML document b into c. Before decoding it walks
// the document against the Config struct, so that every problem is
// reported at once and named by its option path (redis.adr), with its line
// and a suggestion, instead of yaml.v3's Go type names ("field adr not
// found in type config.Redis").
func decodeYAML(b []byte, c *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err // a syntax error: yaml.v3 names the line
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil // an empty file
	}
	doc := root.Content[0]
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return nil // a file of comments only
	}
	var errs []error
	walkNode(doc, reflect.TypeOf(Config{}), "", &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// The walk found nothing: decode for real, still strictly.
	return doc.Decode(c)
}

// walkNode checks node against the Go type t of the option at path and
// appends one error per problem.
func walkNode(node *yaml.Node, t reflect.Type, path string, errs *[]error) {
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(format string, args ...any) {
		name := path
		if name == "" {
			name = "the file"
		}
		*errs = append(*errs, fmt.Errorf("%s: %s (line %d)", name, fmt.Sprintf(format, args...), node.Line))
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return // key: (nothing) leaves the option unset
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType:
		if node.Kind != yaml.MappingNode {
			bad("want a section of options (key: value lines), got %s", describeNode(node))
			return
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, val := node.Content[i], node.Content[i+1]
			sub := join(path, key.Value)
			f, ok := fieldType(t, key.Value)
			if !ok {
				msg := "unknown field"
				if s := suggest(path, key.Value, t); s != "" {
					msg += "; did you mean " + s + "?"
				} else {
					msg += "; the options here are " + strings.Join(fieldNames(t, path), ", ")
				}
				*errs = append(*errs, fmt.Errorf("%s: %s (line %d)", sub, msg, key.Line))
				continue
			}
			walkNode(val, f, sub, errs)
		}
	case t.Kind() == reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			bad("want a list (e.g. [a, b] or lines starting with -), got %s", describeNode(node))
			return
		}
		for i, item := range node.Content {
			walkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case t.Kind() == reflect.Map:
		if node.Kind != yaml.MappingNode {
			bad("want a mapping (KEY: value lines), got %s", describeNode(node))
			return
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			walkNode(node.Content[i+1], t.Elem(), join(path, node.Content[i].Value), errs)
		}
	default:
		if node.Kind != yaml.ScalarNode {
			bad("want %s, got %s", describeType(t), describeNode(node))
			return
		}
		if err := node.Decode(reflect.New(t).Interface()); err != nil {
			bad("%q is not %s", node.Value, describeType(t))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldType returns the type of the field of struct type t whose YAML key
// is key.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		if tag := yamlKey(t.Field(i)); tag != "" && tag == key {
			return t.Field(i).Type, true
		}
	}
	return nil, false
}

// yamlKey is the YAML key of a struct field; "" for fields not in YAML.
func yamlKey(f reflect.StructField) string {
	tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

// fieldNames lists the option paths directly under path (a struct t).
func fieldNames(t reflect.Type, path string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if k := yamlKey(t.Field(i)); k != "" {
			out = append(out, join(path, k))
		}
	}
	return out
}

// describeType says in words what a value of type t looks like.
func describeType(t reflect.Type) string {
	if t == durationType {
		return "a duration like 250ms or 24h"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map:
		return "a mapping"
	}
	return "a value of another kind"
}

// describeNode says in words what kind of YAML value node is.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// suggest returns the option path a mistyped key at path most likely
// meant: a sibling within a small edit distance, else an option elsewhere
// with that exact key (a key in the wrong section), else "".
func suggest(path, key string, t reflect.Type) string {
	best, bestD := "", 1<<30
	for i := 0; i < t.NumField(); i++ {
		k := yamlKey(t.Field(i))
		if k == "" {
			continue
		}
		if d := segment.EditDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= maxTypos(key) {
		return join(path, best)
	}
	var elsewhere []string
	for _, p := range allPaths() {
		parts := strings.Split(p, ".")
		for i, part := range parts {
			if part == key {
				elsewhere = append(elsewhere, strings.Join(parts[:i+1], "."))
			}
		}
	}
	sort.Strings(elsewhere)
	if len(elsewhere) > 0 {
		return strings.Join(dedupe(elsewhere), " or ")
	}
	return ""
}

// suggestPath returns the option path closest to a mistyped full path
// (for --set and CLVSTREAM_ variables), or "".
func suggestPath(path string) string {
	best, bestD := "", 1<<30
	for _, p := range allPaths() {
		if d := segment.EditDistance(strings.ToLower(path), p); d < bestD {
			best, bestD = p, d
		}
	}
	if bestD <= maxTypos(path) {
		return best
	}
	return ""
}

// maxTypos is how many edits a key of this length may be away from its
// suggestion: 1 for short keys, more for long ones.
func maxTypos(s string) int {
	switch {
	case len(s) <= 4:
		return 1
	case len(s) <= 12:
		return 2
	}
	return 3
}

// allPaths lists every leaf option path and every section path.
func allPaths() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range Paths() {
		parts := strings.Split(p, ".")
		for i := range parts {
			q := strings.Join(parts[:i+1], ".")
			if !seen[q] {
				seen[q] = true
				out = append(out, q)
			}
		}
	}
	return out
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
