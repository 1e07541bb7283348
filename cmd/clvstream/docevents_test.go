package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/pkg/event"
)

// Every example input event of README.md and docs/*.md (the JSON objects
// of their json blocks whose type is an input type) is accepted as
// written: under the example configuration deployments/clvstream.yaml,
// and, when it is in the base currency, under the defaults a
// configuration-free start uses (only USD is accepted there: no rates).
func TestDocInputEventsDecode(t *testing.T) {
	example, err := config.Load("../../deployments/clvstream.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	decExample, err := event.NewDecoder(example.DecoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	defaults := config.Config{}.WithDefaults()
	decDefault, err := event.NewDecoder(defaults.DecoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	input := map[string]bool{}
	for _, ty := range event.Types {
		input[string(ty)] = true
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(f, "../../")
		for _, blk := range jsonBlocks(string(b)) {
			dec := json.NewDecoder(strings.NewReader(blk.text))
			for {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err == io.EOF {
					break
				} else if err != nil {
					break // not a stream of objects (an excerpt): not an input example
				}
				var head struct {
					Type     string `json:"type"`
					Currency string `json:"currency"`
				}
				if json.Unmarshal(raw, &head) != nil || !input[head.Type] {
					continue
				}
				n++
				var compact bytes.Buffer
				_ = json.Compact(&compact, raw)
				if _, err := decExample.Decode(compact.Bytes(), nil); err != nil {
					t.Errorf("%s:%d: the example %s event is dead-lettered under deployments/clvstream.yaml: %v", name, blk.line, head.Type, err)
				}
				if head.Currency == "" || head.Currency == defaults.Input.BaseCurrency {
					if _, err := decDefault.Decode(compact.Bytes(), nil); err != nil {
						t.Errorf("%s:%d: the example %s event is dead-lettered under the default configuration: %v", name, blk.line, head.Type, err)
					}
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("found only %d example input events; the README shows at least 5", n)
	}
	t.Logf("%d example input events decoded", n)
}

type block struct {
	line int
	text string
}

// jsonBlocks returns the ```json blocks of a document.
func jsonBlocks(doc string) []block {
	var out []block
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```json" {
			continue
		}
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
			j++
		}
		out = append(out, block{line: i + 1, text: strings.Join(lines[i+1:min(j, len(lines))], "\n")})
		i = j
	}
	return out
}
