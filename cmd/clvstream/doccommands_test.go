package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// docCommand is one clvstream command line of a document.
type docCommand struct {
	where string // file:line
	args  []string
	piped bool // its standard input is the previous command's output
}

var (
	fence      = regexp.MustCompile("^```")
	inlineCode = regexp.MustCompile("`((?:bin/)?clvstream [^`]+)`")
	// separators start a new command.
	separators = map[string]bool{"|": true, "&&": true, "||": true, ";": true, "&": true, "exec": true, "time": true}
	// subcommands with a second word.
	twoWord = map[string][]string{"model": {"show", "refit"}, "config": {"validate"}}
)

// docCommands returns every clvstream command of the shell blocks and the
// inline code of path: a line (with its continuation lines) whose word is
// clvstream or bin/clvstream, up to the next pipe, redirection, && or
// comment.
func docCommands(t *testing.T, path string) []docCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(path, "../../")
	lines := strings.Split(string(b), "\n")
	var out []docCommand
	add := func(i int, text string) {
		words := strings.Fields(text)
		for k := 0; k < len(words); k++ {
			w := words[k]
			if w != "clvstream" && w != "bin/clvstream" {
				continue
			}
			prev := ""
			if k > 0 {
				prev = words[k-1]
			}
			if k > 0 && !separators[prev] && !strings.HasSuffix(prev, "(") {
				continue // an argument, e.g. go build -o bin/clvstream
			}
			c := docCommand{where: name + ":" + strconv.Itoa(i+1), piped: prev == "|"}
			for k++; k < len(words); k++ {
				a := words[k]
				if separators[a] || a == "#" || strings.HasPrefix(a, ">") || strings.HasPrefix(a, "2>") || strings.HasPrefix(a, "<") {
					k--
					break
				}
				c.args = append(c.args, a)
			}
			out = append(out, c)
		}
	}
	inBlock, inShell := false, false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fence.MatchString(strings.TrimSpace(line)) {
			if inBlock {
				inBlock, inShell = false, false
			} else {
				lang := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "```"))
				inBlock, inShell = true, lang == "sh" || lang == "bash" || lang == "console"
			}
			continue
		}
		if inBlock && !inShell {
			continue
		}
		if inShell {
			text := line
			for strings.HasSuffix(strings.TrimSpace(text), "\\") && i+1 < len(lines) {
				i++
				text = strings.TrimSuffix(strings.TrimSpace(text), "\\") + " " + lines[i]
			}
			if c := strings.Index(text, " # "); c >= 0 {
				text = text[:c]
			}
			add(i, text)
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
			add(i, m[1])
		}
	}
	return out
}

// Every clvstream command shown in README.md and docs/*.md exists as
// written: its subcommand (and the second word of model and config) is one
// the binary has, and every flag it passes is listed by the subcommand's
// -h. The make targets and scripts the README names exist too.
func TestDocCommandsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "clvstream")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	help := map[string]string{}
	flagsOf := func(sub []string) string {
		key := strings.Join(sub, " ")
		if h, ok := help[key]; ok {
			return h
		}
		out, _ := exec.Command(bin, append(sub, "-h")...).CombinedOutput()
		help[key] = string(out)
		return help[key]
	}
	usage, _ := exec.Command(bin, "-h").CombinedOutput()
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z]+) `).FindAllStringSubmatch(string(usage), -1) {
		known[m[1]] = true
	}
	if len(known) < 10 {
		t.Fatalf("could not read the subcommands from clvstream -h:\n%s", usage)
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	checked := map[string]bool{}
	n := 0
	for _, f := range files {
		for _, c := range docCommands(t, f) {
			if len(c.args) == 0 {
				continue
			}
			n++
			sub := c.args[0]
			if strings.HasPrefix(sub, "-") {
				if sub != "--version" && sub != "-h" && sub != "--help" {
					t.Errorf("%s: clvstream %s: not a subcommand", c.where, sub)
				}
				continue
			}
			if !known[sub] {
				t.Errorf("%s: clvstream %s: no such subcommand (clvstream -h lists %v)", c.where, sub, sortedKeys(known))
				continue
			}
			path := []string{sub}
			rest := c.args[1:]
			if words, ok := twoWord[sub]; ok {
				if len(rest) == 0 || !contains(words, rest[0]) {
					t.Errorf("%s: clvstream %s needs one of %v, got %q", c.where, sub, words, strings.Join(rest, " "))
					continue
				}
				path, rest = append(path, rest[0]), rest[1:]
			}
			checked[strings.Join(path, " ")] = true
			if c.piped && !contains(rest, "-") {
				t.Errorf("%s: clvstream %s is written as reading the output of a pipe, but it reads no standard input (only an argument - does)", c.where, strings.Join(c.args, " "))
			}
			if sub == "config" { // config validate FILE has no flags
				continue
			}
			h := flagsOf(path)
			for _, a := range rest {
				if !strings.HasPrefix(a, "-") || a == "-" {
					continue
				}
				name := strings.TrimLeft(a, "-")
				if i := strings.IndexByte(name, '='); i >= 0 {
					name = name[:i]
				}
				if name == "h" || name == "help" {
					continue
				}
				if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(name) + `( |$)`).MatchString(h) {
					t.Errorf("%s: clvstream %s: no flag --%s (clvstream %s -h)", c.where, strings.Join(path, " "), name, strings.Join(path, " "))
				}
			}
		}
	}
	t.Logf("%d commands checked, subcommands %v", n, sortedKeys(checked))

	// make targets and scripts named by the README.
	readme, _ := os.ReadFile("../../README.md")
	mk, _ := os.ReadFile("../../Makefile")
	for _, m := range regexp.MustCompile("`make ([a-z-]+)").FindAllStringSubmatch(string(readme), -1) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).Match(mk) {
			t.Errorf("README.md: make %s: no such target in the Makefile", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`scripts/[a-z0-9_-]+\.sh`).FindAllString(string(readme), -1) {
		if _, err := os.Stat("../../" + m); err != nil {
			t.Errorf("README.md: %s does not exist", m)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// The README's Layout names every package directory of pkg/ and internal/
// and every subcommand of the binary's usage.
func TestReadmeLayoutComplete(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## Layout\n")
	if i < 0 {
		t.Fatal("README.md has no Layout section")
	}
	layout := s[i:]
	if j := strings.Index(layout[1:], "\n## "); j >= 0 {
		layout = layout[:j+1]
	}
	for _, root := range []string{"pkg", "internal"} {
		dirs, _ := filepath.Glob("../../" + root + "/*")
		for _, d := range dirs {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				continue
			}
			name := root + "/" + filepath.Base(d)
			if !regexp.MustCompile(regexp.QuoteMeta(name) + `\b`).MatchString(layout) {
				t.Errorf("README Layout does not name %s", name)
			}
		}
	}
	subs := regexp.MustCompile(`(?m)^  ([a-z]+) `).FindAllStringSubmatch(usage, -1)
	if len(subs) < 10 {
		t.Fatalf("could not read the subcommands from the usage text")
	}
	for _, m := range subs {
		sub := m[1]
		if !regexp.MustCompile(`\b` + sub + `\b`).MatchString(layout) {
			t.Errorf("README Layout does not name the subcommand %s", sub)
		}
	}
}
