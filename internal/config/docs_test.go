package config

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docTable reads docs/configuration.md and returns the cells of every
// option row (| `path` | type | default | meaning |) by path.
func docTable(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		m := docRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[m[1]] = cells
	}
	return rows
}

// valueAt returns the field of c at the dotted option path.
func valueAt(t *testing.T, c Config, path string) reflect.Value {
	t.Helper()
	v := reflect.ValueOf(c)
	for _, part := range strings.Split(path, ".") {
		f, ok := fieldByTag(v, part)
		if !ok {
			t.Fatalf("no option %s", path)
		}
		v = f
	}
	return v
}

// shortDuration writes d as the docs do: 720h, 1m, 1h30m, 200ms, 0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// renderDefault is how the default column must begin for the value v:
// the value in backticks, "none" for an unset list or map, "empty" for an
// empty string, and, for a list of objects, each object's fields.
func renderDefault(v reflect.Value) []string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return []string{"none"}
		}
		v = v.Elem()
	}
	code := func(s string) []string { return []string{"`" + s + "`"} }
	if v.Type() == durationType {
		return code(shortDuration(time.Duration(v.Int())))
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return []string{"empty", "none"}
		}
		return code(v.String())
	case reflect.Bool:
		return code(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int32, reflect.Int64:
		return code(strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		return code(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.Map:
		if v.Len() == 0 {
			return []string{"none"}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{"none"}
		}
		var items []string
		for i := 0; i < v.Len(); i++ {
			e := v.Index(i)
			if e.Kind() == reflect.Struct {
				var fields []string
				for j := 0; j < e.NumField(); j++ {
					fields = append(fields, strings.Trim(renderDefault(e.Field(j))[0], "`"))
				}
				items = append(items, strings.Join(fields, " "))
				continue
			}
			items = append(items, strings.Trim(renderDefault(e)[0], "`"))
		}
		if v.Type().Elem().Kind() == reflect.Struct {
			return []string{strings.Join(items, ", ")}
		}
		if v.Type().Elem().Kind() == reflect.String {
			return code(strings.Join(items, ","))
		}
		return code("[" + strings.Join(items, ", ") + "]")
	}
	return []string{fmt.Sprint(v.Interface())}
}

// The default column of docs/configuration.md agrees with the defaults in
// the code, for every option (whoever adds one): the page cannot claim
// "required" for an option that defaults to localhost:9092.
func TestDocumentedDefaults(t *testing.T) {
	rows := docTable(t)
	def := Config{}.WithDefaults()
	for _, p := range Paths() {
		cells, ok := rows[p]
		if !ok {
			continue // TestPathsDocumented reports it
		}
		if len(cells) < 4 {
			t.Errorf("docs/configuration.md: the row of %s has %d columns, want | path | type | default | meaning |", p, len(cells))
			continue
		}
		got := cells[2]
		want := renderDefault(valueAt(t, def, p))
		ok = false
		for _, w := range want {
			if strings.HasPrefix(got, w) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("docs/configuration.md: the default of %s is %s in the code, but the page says %q", p, want[0], got)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		720 * time.Hour: "720h", time.Minute: "1m", 90 * time.Minute: "1h30m",
		200 * time.Millisecond: "200ms", 0: "0s", 15 * time.Second: "15s", time.Hour + time.Second: "1h0m1s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
