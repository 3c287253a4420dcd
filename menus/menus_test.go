package menus

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/prompts"
)

// TestBadFiles: each testdata/bad_<kind>.yaml is good_minimal.yaml with one
// defect, and must be refused with exactly that one problem, on that line.
// Line 0 means the problem is about the file as a whole.
func TestBadFiles(t *testing.T) {
	cases := []struct {
		kind string
		line int
		want string
	}{
		{"unknown_prompt", 13, `node info: prompts: unknown prompt id "goodby"`},
		{"default_prompt", 4, `defaults: on_timeout: unknown prompt id "silence"`},
		{"unknown_placeholder", 13, `unknown placeholder "$amount"`},
		{"unknown_node", 14, `node info: next: unknown node "by"`},
		{"unknown_start", 2, `start: unknown node "menu"`},
		{"no_start", 0, `start: required`},
		{"unreachable", 23, `node lost: unreachable from start node main`},
		{"loop", 12, `node info: loop without exit (info → again)`},
		{"key_range", 9, `node main: key "A" is out of range`},
		{"key_two_digits", 9, `node main: key "10" is out of range`},
		{"missing_action", 15, `node bye: missing action`},
		{"unknown_action", 16, `node bye: unknown action "hang_up"`},
		{"missing_next", 11, `node info: a play node needs next`},
		{"empty_next", 11, `node info: a play node needs next`},
		{"key_no_target", 9, `node main: key 2 leads nowhere`},
		{"on_fail_self", 10, `node main: on_fail leads back to the node itself`},
		{"missing_on_fail", 4, `node main: a menu node needs on_fail`},
		{"missing_keys", 4, `node main: a menu node needs keys`},
		{"missing_queue", 18, `node agent: an enqueue node needs queue`},
		{"field_not_used", 15, `node info: queue does nothing in a play node`},
		{"unknown_step", 13, `node info: unknown step "billing_balanse"`},
		{"unknown_queue", 21, `node agent: unknown queue "vip"`},
		{"unknown_reason", 22, `node agent: unknown reason "bored"`},
		{"unknown_ticket", 13, `node info: unknown ticket type "wish"`},
		{"bad_duration", 11, `node main: timeout: "6 seconds" is not a duration`},
		{"duration_range", 11, `node main: timeout: 10m0s is outside 1s..1m0s`},
		{"retries_range", 11, `node main: retries: 0 is outside 1..10`},
		{"max_digits_range", 14, `node info: max_digits: 200 is outside 1..32`},
		{"reserved_name", 15, `node "back": "back" is a reserved key target`},
		{"bad_node_id", 15, `node "Bye": ids are snake_case`},
		{"no_version", 0, `version: required`},
		{"unknown_field", 14, `field nxt not found`},
		{"syntax", 8, `did not find expected alphabetic or numeric character`},
		{"duplicate_node", 23, `mapping key "bye" already defined at line 15`},
		{"empty", 0, `empty file`},
		{"two_documents", 0, `more than one YAML document`},
		{"fallthrough_not_menu", 16, `node offer: fallthrough must name another menu node, not a hangup node`},
	}
	files, err := filepath.Glob("testdata/bad_*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range cases {
		kinds = append(kinds, c.kind)
	}
	for _, f := range files {
		kind := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "bad_"), ".yaml")
		if !slices.Contains(kinds, kind) {
			t.Errorf("%s has no case in the table", f)
		}
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			name := "testdata/bad_" + c.kind + ".yaml"
			m, err := Load(name, testNames)
			if err == nil {
				t.Fatalf("loaded %d nodes; want %q", len(m.Nodes), c.want)
			}
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not *menus.Error", err, err)
			}
			if len(me.Problems) != 1 {
				t.Fatalf("want exactly one problem, got %d:\n%v", len(me.Problems), err)
			}
			p := me.Problems[0]
			if p.File != name || p.Line != c.line || !strings.Contains(p.Msg, c.want) {
				t.Errorf("got %s:%d: %s\nwant %s:%d: …%s…", p.File, p.Line, p.Msg, name, c.line, c.want)
			}
			prefix := name + ": "
			if c.line > 0 {
				prefix = name + ":" + strconv.Itoa(c.line) + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
		})
	}
}

func TestGoodFiles(t *testing.T) {
	if _, err := Load("testdata/good_minimal.yaml", testNames); err != nil {
		t.Fatalf("good_minimal: %v", err)
	}
	if _, err := Load("default.yaml", testNames); err != nil {
		t.Fatalf("default.yaml: %v", err)
	}
	m := Default(testNames)
	if m.Start != "identify" || m.Version == "" {
		t.Errorf("default menu: start %q version %q", m.Start, m.Version)
	}
}

// TestSeveralProblemsAtOnce: an operator sees every problem in one run,
// in line order.
func TestSeveralProblemsAtOnce(t *testing.T) {
	src := `version: "1"
start: main
nodes:
  main:
    action: menu
    prompts: [main_menu, nope]
    keys:
      "1": bye
      "X": bye
    on_fail: bye
    timeout: forever
  bye:
    action: hangup
    prompts: goodbye
    queue: general
`
	_, err := Parse([]byte(src), "t.yaml", testNames)
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, p := range me.Problems {
		lines = append(lines, p.Line)
	}
	if want := []int{6, 9, 11, 15}; !slices.Equal(lines, want) {
		t.Errorf("lines %v, want %v:\n%v", lines, want, err)
	}
}

// TestLoopFoundBehindMenu: a cycle entered from a menu is found, and the
// nodes leading into it are not reported twice.
func TestLoopFoundBehindMenu(t *testing.T) {
	src := `version: "1"
start: main
nodes:
  main:
    action: menu
    prompts: main_menu
    keys:
      "1": a
      "0": out
    on_fail: out
  a:
    action: play
    prompts: goodbye
    next: b
  b:
    action: menu
    prompts: main_menu
    keys:
      "1": c
      "*": back
    on_fail: c
  c:
    action: play
    prompts: goodbye
    next: b
  out:
    action: hangup
`
	_, err := Parse([]byte(src), "t.yaml", testNames)
	var me *Error
	if !errors.As(err, &me) || len(me.Problems) != 1 || me.Problems[0].Line != 15 ||
		!strings.Contains(me.Problems[0].Msg, "loop without exit (b → c)") {
		t.Fatalf("err = %v", err)
	}
}

// TestDefaultPromptsCatalogued: every prompt the default menu can play has
// Mandarin and English text, so no caller hears silence and every prompt
// can be reviewed in English.
func TestDefaultPromptsCatalogued(t *testing.T) {
	byID := map[string]prompts.Prompt{}
	for _, p := range prompts.Catalogue() {
		byID[p.ID] = p
	}
	ids := Default(testNames).PromptIDs()
	if len(ids) < 10 {
		t.Fatalf("only %d prompt ids: %v", len(ids), ids)
	}
	for _, id := range ids {
		p, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("prompt %q is not in the catalogue", id)
		case strings.TrimSpace(p.Chinese) == "":
			t.Errorf("prompt %q has no Mandarin text", id)
		case strings.TrimSpace(p.English) == "":
			t.Errorf("prompt %q has no English text", id)
		}
	}
	// And the check can fail: a menu using an id the catalogue lacks is refused.
	bad := strings.Replace(string(DefaultYAML()), "prompts: goodbye", "prompts: goodbye_forever", 1)
	if _, err := Parse([]byte(bad), "x.yaml", testNames); err == nil || !strings.Contains(err.Error(), `unknown prompt id "goodbye_forever"`) {
		t.Errorf("menu with a missing prompt: err = %v", err)
	}
}

func BenchmarkParseDefault(b *testing.B) {
	data := DefaultYAML()
	for b.Loop() {
		if _, err := Parse(data, "default.yaml", testNames); err != nil {
			b.Fatal(err)
		}
	}
}
