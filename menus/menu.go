// Package menus is the IVR as operators' configuration: the whole menu
// tree (nodes, prompts, keys, timeouts, retries, actions) in one YAML file,
// a validator that names the line of every mistake, an interpreter that
// runs a validated menu for one call, and a holder that swaps menus
// atomically on reload while calls in progress keep the menu they started
// with.
//
// Domain work (looking up an account, creating a work order, queueing for
// an agent) is not done here: the interpreter calls a small Steps
// interface that the call flow implements.
package menus

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Action is what a node does.
type Action string

const (
	ActPlay        Action = "play"        // say prompts, go to next
	ActCollect     Action = "collect"     // collect a number ended by #, go to next
	ActMenu        Action = "menu"        // offer keys, go where the key says
	ActSelfService Action = "selfservice" // run a named Go step; its result picks the next node
	ActTicket      Action = "ticket"      // create a work order of a type
	ActEnqueue     Action = "enqueue"     // queue for a human agent (ends the menu)
	ActTransfer    Action = "transfer"    // hand the call to another destination (ends the menu)
	ActHangup      Action = "hangup"      // say prompts and end the call
)

var actions = map[Action]bool{ActPlay: true, ActCollect: true, ActMenu: true, ActSelfService: true,
	ActTicket: true, ActEnqueue: true, ActTransfer: true, ActHangup: true}

// Reserved key targets: they are not nodes.
const (
	TargetBack   = "back"   // to the menu heard before this one (what * does by default)
	TargetRepeat = "repeat" // play this menu again; not a failure
)

// Names are the names a menu may use that other parts of the hotline
// define: the self-service steps the call flow implements, the agents'
// queues and the work-order types. The wiring hands them in, so a menu
// naming a step, queue or ticket type the running controller does not
// have is refused when it is loaded, not when a caller reaches the node.
type Names struct {
	Steps   []string
	Queues  []string
	Tickets []string
}

// Reasons label why a caller leaves the menu for a human: a fixed set, so
// it can be a metric label.
var Reasons = []string{
	"caller_request",     // pressed 0
	"menu_failure",       // too many invalid or missing keys
	"complaint",          // complaints always reach a person
	"after_self_service", // served, then asked for a person
	"unknown_account",    // the account number was not found
	"self_service_error", // a step failed
	"senior",             // the senior customers' desk
	"overflow",           // sent elsewhere because the queue is long
}

// Limits on figures in a menu file.
const (
	minTimeout   = time.Second
	maxTimeout   = 60 * time.Second
	maxRetries   = 10
	maxMaxDigits = 32
	maxNodes     = 1000
)

// Placeholders that may stand in a prompt list; each is read digit by digit.
var placeholders = map[string]bool{"$ticket": true, "$input": true}

// Menu is a validated IVR. It is never modified after it is built, so one
// menu may serve many calls at once.
type Menu struct {
	Version  string
	Start    string
	Nodes    map[string]*Node
	Source   string // file name, for errors and logs
	order    []string
	lines    map[string]int // top-level field -> line
	defaults *Node          // the defaults section, for locating its prompts
}

// Node is one step of the menu.
type Node struct {
	ID      string
	Action  Action
	Intro   []string // said before Prompts on the first visit only
	Prompts []string // prompt ids or placeholders ($ticket, $input)
	Keys    map[string]string
	// Fallthrough names a menu node whose keys are taken here too: a key
	// this menu does not offer but that menu does counts as the caller's
	// choice there (a caller who knows the main menu need not wait for it).
	Fallthrough string
	Timeout     time.Duration // silence after the prompt before "no input"
	InterDigit  time.Duration // silence between digits
	Overall     time.Duration // collect: the whole entry from the first key
	MaxDigits   int
	Retries     int      // failures (timeouts + invalid keys) before OnFail
	OnTimeout   []string // said before the re-prompt after silence
	OnInvalid   []string // said before the re-prompt after a wrong key
	OnFail      string   // where to go when retries run out, or a step or ticket fails
	Next        string
	Results     map[string]string // selfservice: step result -> node
	Step        string
	Ticket      string // work order type for the ticket action
	Queue       string
	Reason      string
	To          string // transfer destination
	Line        int
	lines       map[string]int // field -> line
	keyLines    map[string]int // key or result -> line
}

// line returns the line of a field of the node, or the node's own line.
func (n *Node) line(field string) int {
	if l := n.lines[field]; l > 0 {
		return l
	}
	return n.Line
}

// Order returns the node ids in file order.
func (m *Menu) Order() []string { return append([]string(nil), m.order...) }

// PromptIDs returns every catalogue prompt id the menu can play, sorted.
func (m *Menu) PromptIDs() []string {
	seen := map[string]bool{}
	for _, n := range m.Nodes {
		for _, list := range [][]string{n.Intro, n.Prompts, n.OnTimeout, n.OnInvalid} {
			for _, id := range list {
				if !placeholders[id] {
					seen[id] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Problem is one defect of a menu file, located by line.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"` // 0: the file as a whole
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return p.File + ": " + p.Msg
}

// Error lists every problem found in a menu file.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

//go:embed default.yaml
var defaultYAML []byte

var (
	defaultOnce    sync.Once
	defaultVersion string
)

// Default returns the compiled-in menu (default.yaml), which expresses the
// 95598 flow, checked against names. It panics if that file is invalid,
// which the call flow's tests rule out.
func Default(names Names) *Menu {
	m, err := Parse(defaultYAML, "default.yaml", names)
	if err != nil {
		panic("menus: embedded default.yaml is invalid: " + err.Error())
	}
	return m
}

// DefaultVersion is the version of the compiled-in menu.
func DefaultVersion() string {
	defaultOnce.Do(func() {
		m, _ := decode(defaultYAML, "default.yaml")
		if m != nil {
			defaultVersion = m.Version
		}
	})
	return defaultVersion
}

// Tuned returns a copy of m in which every node that leaves its timeout,
// inter-digit timeout or retries to the defaults takes the figures given
// instead; a zero figure keeps the menu's own. The controller tunes the
// built-in menu with its HOTLINE_MENU_TIMEOUT, HOTLINE_INTERDIGIT_TIMEOUT
// and HOTLINE_MENU_MAX_FAILURES, so those settings keep their meaning; a
// menu file states its own figures. The figures are not validated here:
// the configuration validates them.
func (m *Menu) Tuned(timeout, interDigit time.Duration, retries int) *Menu {
	c := *m
	c.Nodes = make(map[string]*Node, len(m.Nodes))
	for id, n := range m.Nodes {
		nc := *n
		if timeout > 0 && n.lines["timeout"] == 0 {
			nc.Timeout = timeout
		}
		if interDigit > 0 && n.lines["inter_digit"] == 0 {
			nc.InterDigit = interDigit
		}
		if retries > 0 && n.lines["retries"] == 0 {
			nc.Retries = retries
		}
		c.Nodes[id] = &nc
	}
	return &c
}

// DefaultYAML returns the text of the compiled-in menu, a starting point
// for operators who write their own.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Load reads, decodes and validates the menu file at path.
func Load(path string, names Names) (*Menu, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("menus: %w", err)
	}
	return Parse(data, path, names)
}

// Parse decodes and validates a menu; name labels the errors. All problems
// are reported at once, each with its line, as an *Error.
func Parse(data []byte, name string, names Names) (*Menu, error) {
	m, probs := decode(data, name)
	if m != nil {
		probs = append(probs, Validate(m, names)...)
	}
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, &Error{Problems: probs}
	}
	return m, nil
}

// The raw types mirror the file; figures stay strings so that a bad value
// is reported with its line instead of stopping the decoder.
type rawMenu struct {
	Version  string             `yaml:"version"`
	Start    string             `yaml:"start"`
	Defaults rawDefaults        `yaml:"defaults"`
	Nodes    map[string]rawNode `yaml:"nodes"`
}

type rawDefaults struct {
	Timeout    string     `yaml:"timeout"`
	InterDigit string     `yaml:"inter_digit"`
	Overall    string     `yaml:"overall"`
	Retries    *int       `yaml:"retries"`
	OnTimeout  promptList `yaml:"on_timeout"`
	OnInvalid  promptList `yaml:"on_invalid"`
}

type rawNode struct {
	Action     string            `yaml:"action"`
	Intro      promptList        `yaml:"intro"`
	Prompts    promptList        `yaml:"prompts"`
	Keys       map[string]string `yaml:"keys"`
	Fall       string            `yaml:"fallthrough"`
	Timeout    string            `yaml:"timeout"`
	InterDigit string            `yaml:"inter_digit"`
	Overall    string            `yaml:"overall"`
	MaxDigits  *int              `yaml:"max_digits"`
	Retries    *int              `yaml:"retries"`
	OnTimeout  promptList        `yaml:"on_timeout"`
	OnInvalid  promptList        `yaml:"on_invalid"`
	OnFail     string            `yaml:"on_fail"`
	Next       string            `yaml:"next"`
	Results    map[string]string `yaml:"results"`
	Step       string            `yaml:"step"`
	Ticket     string            `yaml:"ticket"`
	Queue      string            `yaml:"queue"`
	Reason     string            `yaml:"reason"`
	To         string            `yaml:"to"`
}

// promptList accepts one prompt id or a list of them.
type promptList []string

func (p *promptList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = promptList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*p = l
	return nil
}

var (
	yamlLine   = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	yamlInType = regexp.MustCompile(` in type \S+$`)
	nodeIDRe   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// yamlProblems turns yaml.v3's "line N: …" messages into problems and
// drops the Go type names, which mean nothing to an operator.
func yamlProblems(name string, err error) []Problem {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]Problem, len(msgs))
	for i, msg := range msgs {
		msg = yamlInType.ReplaceAllString(msg, "")
		p := Problem{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
		if sm := yamlLine.FindStringSubmatch(msg); sm != nil {
			fmt.Sscan(sm[1], &p.Line)
			p.Msg = msg[len(sm[0]):]
		}
		out[i] = p
	}
	return out
}

// mapping returns the value node of key in a mapping node, and the key's line.
func mapping(n *yaml.Node, key string) (*yaml.Node, int) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1], n.Content[i].Line
		}
	}
	return nil, 0
}

// keyLines maps each key of a mapping node to its line.
func keyLines(n *yaml.Node) map[string]int {
	out := map[string]int{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i].Line
	}
	return out
}

// fieldLines maps each field of a mapping node to its line, and each item
// of a prompt list to its own line as "field[i]".
func fieldLines(n *yaml.Node) map[string]int {
	out := keyLines(n)
	for _, f := range []string{"intro", "prompts", "on_timeout", "on_invalid"} {
		if v, _ := mapping(n, f); v != nil && v.Kind == yaml.SequenceNode {
			for i, item := range v.Content {
				out[fmt.Sprintf("%s[%d]", f, i)] = item.Line
			}
		}
	}
	return out
}

// decode reads the file strictly and converts its values, reporting bad
// values with their lines. It returns a nil menu only when the file cannot
// be read as a menu at all.
func decode(data []byte, name string) (*Menu, []Problem) {
	var raw rawMenu
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []Problem{{File: name, Msg: "empty file"}}
		}
		return nil, yamlProblems(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, []Problem{{File: name, Msg: "more than one YAML document"}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlProblems(name, err)
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	var probs []Problem
	errf := func(line int, format string, a ...any) {
		probs = append(probs, Problem{File: name, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	m := &Menu{Version: strings.TrimSpace(raw.Version), Start: strings.TrimSpace(raw.Start),
		Nodes: map[string]*Node{}, Source: name, lines: keyLines(root)}
	if m.Version == "" {
		errf(0, "version: required (e.g. \"2026.1\"): logs and calls record which menu they ran")
	}

	dur := func(line int, field, s string, def time.Duration) time.Duration {
		if strings.TrimSpace(s) == "" {
			return def
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		switch {
		case err != nil:
			errf(line, "%s: %q is not a duration (write e.g. 6s or 1500ms)", field, s)
		case d < minTimeout || d > maxTimeout:
			errf(line, "%s: %s is outside %s..%s", field, d, minTimeout, maxTimeout)
		default:
			return d
		}
		return def
	}
	defNode, _ := mapping(root, "defaults")
	dl := keyLines(defNode)
	m.defaults = &Node{ID: "defaults", Line: m.lines["defaults"], lines: fieldLines(defNode),
		OnTimeout: raw.Defaults.OnTimeout, OnInvalid: raw.Defaults.OnInvalid}
	defTimeout := dur(dl["timeout"], "defaults.timeout", raw.Defaults.Timeout, 6*time.Second)
	defInter := dur(dl["inter_digit"], "defaults.inter_digit", raw.Defaults.InterDigit, 4*time.Second)
	defOverall := dur(dl["overall"], "defaults.overall", raw.Defaults.Overall, 30*time.Second)
	defRetries := 3
	if r := raw.Defaults.Retries; r != nil {
		if *r < 1 || *r > maxRetries {
			errf(dl["retries"], "defaults.retries: %d is outside 1..%d", *r, maxRetries)
		} else {
			defRetries = *r
		}
	}
	defOnTimeout, defOnInvalid := []string{"no_input"}, []string{"invalid_input"}
	if raw.Defaults.OnTimeout != nil {
		defOnTimeout = raw.Defaults.OnTimeout
	}
	if raw.Defaults.OnInvalid != nil {
		defOnInvalid = raw.Defaults.OnInvalid
	}

	nodesNode, nodesLine := mapping(root, "nodes")
	if len(raw.Nodes) == 0 {
		errf(nodesLine, "nodes: at least one node is required")
	}
	if len(raw.Nodes) > maxNodes {
		// The checks below grow with the square of the node count.
		return nil, append(probs, Problem{File: name, Line: nodesLine, Msg: fmt.Sprintf("nodes: %d nodes, more than %d", len(raw.Nodes), maxNodes)})
	}
	if nodesNode != nil && nodesNode.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(nodesNode.Content); i += 2 {
			id := nodesNode.Content[i].Value
			rn := raw.Nodes[id]
			v := nodesNode.Content[i+1]
			n := &Node{ID: id, Action: Action(strings.TrimSpace(rn.Action)), Line: nodesNode.Content[i].Line,
				lines: fieldLines(v), Intro: rn.Intro, Prompts: rn.Prompts, Keys: rn.Keys, Results: rn.Results,
				OnFail: rn.OnFail, Next: rn.Next, Step: rn.Step, Ticket: rn.Ticket, Queue: rn.Queue,
				Reason: rn.Reason, To: rn.To, OnTimeout: defOnTimeout, OnInvalid: defOnInvalid, Retries: defRetries,
				Fallthrough: rn.Fall}
			n.keyLines = keyLines(func() *yaml.Node { k, _ := mapping(v, "keys"); return k }())
			for k, l := range keyLines(func() *yaml.Node { r, _ := mapping(v, "results"); return r }()) {
				n.keyLines["result:"+k] = l
			}
			if !nodeIDRe.MatchString(id) {
				errf(n.Line, "node %q: ids are snake_case (a-z, 0-9, _), starting with a letter", id)
			}
			if id == TargetBack || id == TargetRepeat {
				errf(n.Line, "node %q: %q is a reserved key target, not a node name", id, id)
			}
			if rn.OnTimeout != nil {
				n.OnTimeout = rn.OnTimeout
			}
			if rn.OnInvalid != nil {
				n.OnInvalid = rn.OnInvalid
			}
			n.Timeout = dur(n.line("timeout"), "node "+id+": timeout", rn.Timeout, defTimeout)
			n.InterDigit = dur(n.line("inter_digit"), "node "+id+": inter_digit", rn.InterDigit, defInter)
			n.Overall = dur(n.line("overall"), "node "+id+": overall", rn.Overall, defOverall)
			if r := rn.Retries; r != nil {
				if *r < 1 || *r > maxRetries {
					errf(n.line("retries"), "node %s: retries: %d is outside 1..%d", id, *r, maxRetries)
				} else {
					n.Retries = *r
				}
			}
			if d := rn.MaxDigits; d != nil {
				if *d < 1 || *d > maxMaxDigits {
					errf(n.line("max_digits"), "node %s: max_digits: %d is outside 1..%d", id, *d, maxMaxDigits)
				}
				n.MaxDigits = *d // kept even when refused, so it is not also reported as missing
			}
			m.Nodes[id] = n
			m.order = append(m.order, id)
		}
	}
	return m, probs
}
