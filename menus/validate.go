package menus

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hotline95598/hotline/prompts"
)

// validKeys are the keys a telephone keypad sends that a menu may offer.
// A-D exist in DTMF but not on customers' phones.
const validKeys = "0123456789*#"

// fields says which node fields each action uses; any other field set on a
// node is a mistake (a queue on a play node, keys on a collect node).
var fields = map[Action][]string{
	ActPlay:        {"action", "prompts", "intro", "next"},
	ActCollect:     {"action", "prompts", "intro", "next", "timeout", "inter_digit", "overall", "max_digits", "retries", "on_timeout", "on_invalid", "on_fail"},
	ActMenu:        {"action", "prompts", "intro", "keys", "fallthrough", "timeout", "retries", "on_timeout", "on_invalid", "on_fail"},
	ActSelfService: {"action", "step", "next", "results", "on_fail"},
	ActTicket:      {"action", "ticket", "next", "on_fail"},
	ActEnqueue:     {"action", "prompts", "queue", "reason"},
	ActTransfer:    {"action", "prompts", "to", "reason"},
	ActHangup:      {"action", "prompts"},
}

// required says which fields an action cannot do without.
var required = map[Action][]string{
	ActPlay:        {"prompts", "next"},
	ActCollect:     {"prompts", "next", "max_digits", "on_fail"},
	ActMenu:        {"prompts", "keys", "on_fail"},
	ActSelfService: {"step", "next"},
	ActTicket:      {"ticket", "next"},
	ActEnqueue:     {"queue", "reason"},
	ActTransfer:    {"to", "reason"},
}

// terminal actions end the menu's part of a call; a self-service step may
// end it too (the caller is served), so it also counts as a way out of a
// loop.
func terminal(a Action) bool {
	return a == ActEnqueue || a == ActTransfer || a == ActHangup || a == ActSelfService
}

// Validate checks a decoded menu and returns its problems, each with the
// line it is on: unknown prompt ids, unknown node references, unreachable
// nodes, loops without exit, keys out of range, missing actions and fields,
// unknown steps, queues, reasons and ticket types.
func Validate(m *Menu, names Names) []Problem {
	var probs []Problem
	errf := func(line int, format string, a ...any) {
		probs = append(probs, Problem{File: m.Source, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	// A broken edge (a missing next, an unknown node) makes nodes behind it
	// look unreachable; the graph is checked only once the edges are sound,
	// so an operator sees the cause, not a cascade.
	broken := false
	brokenf := func(line int, format string, a ...any) {
		broken = true
		errf(line, format, a...)
	}
	isNode := func(id string) bool { _, ok := m.Nodes[id]; return ok }

	checkPrompts := func(n *Node, field string, ids []string) {
		for i, id := range ids {
			line := n.line(field)
			if l := n.lines[fmt.Sprintf("%s[%d]", field, i)]; l > 0 {
				line = l
			}
			switch {
			case strings.HasPrefix(id, "$"):
				if !placeholders[id] {
					errf(line, "%s%s: unknown placeholder %q (known: $input, $ticket)", where(n), field, id)
				}
			case !prompts.Has(id):
				errf(line, "%s%s: unknown prompt id %q (not in prompts/catalogue.tsv)", where(n), field, id)
			}
		}
	}

	for _, id := range m.order {
		n := m.Nodes[id]
		if n.Action == "" {
			brokenf(n.Line, "node %s: missing action (one of %s)", id, actionList())
			continue
		}
		if !actions[n.Action] {
			brokenf(n.line("action"), "node %s: unknown action %q (one of %s)", id, n.Action, actionList())
			continue
		}
		for f, l := range n.lines {
			if strings.Contains(f, "[") {
				continue
			}
			if !slices.Contains(fields[n.Action], f) {
				errf(l, "node %s: %s does nothing in a %s node", id, f, n.Action)
			}
		}
		for _, f := range required[n.Action] {
			if n.lines[f] == 0 || n.empty(f) {
				brokenf(n.Line, "node %s: %s %s node needs %s", id, article(string(n.Action)), n.Action, f)
			}
		}
		checkPrompts(n, "intro", n.Intro)
		checkPrompts(n, "prompts", n.Prompts)
		// Inherited defaults are checked once, below, at their own line.
		if n.lines["on_timeout"] > 0 {
			checkPrompts(n, "on_timeout", n.OnTimeout)
		}
		if n.lines["on_invalid"] > 0 {
			checkPrompts(n, "on_invalid", n.OnInvalid)
		}
		ref := func(field, target string, line int) {
			if target != "" && !isNode(target) {
				brokenf(line, "node %s: %s: unknown node %q", id, field, target)
			}
		}
		ref("next", n.Next, n.line("next"))
		ref("fallthrough", n.Fallthrough, n.line("fallthrough"))
		if f := m.Nodes[n.Fallthrough]; f != nil && (f.Action != ActMenu || f.ID == id) {
			brokenf(n.line("fallthrough"), "node %s: fallthrough must name another menu node, not %s %s node", id, article(string(f.Action)), f.Action)
		}
		ref("on_fail", n.OnFail, n.line("on_fail"))
		if n.OnFail == id {
			brokenf(n.line("on_fail"), "node %s: on_fail leads back to the node itself; a caller who fails here must go elsewhere", id)
		}
		keys := make([]string, 0, len(n.Keys))
		for k := range n.Keys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			line := n.keyLines[k]
			if len(k) != 1 || !strings.Contains(validKeys, k) {
				brokenf(line, "node %s: key %q is out of range (one of 0-9, * and #)", id, k)
				continue
			}
			if strings.TrimSpace(n.Keys[k]) == "" {
				brokenf(line, "node %s: key %s leads nowhere (give a node, back or repeat)", id, k)
				continue
			}
			if t := n.Keys[k]; t != TargetBack && t != TargetRepeat {
				ref("key "+k, t, line)
			}
		}
		for r, t := range n.Results {
			if strings.TrimSpace(t) == "" {
				brokenf(n.keyLines["result:"+r], "node %s: result %s leads nowhere", id, r)
			}
			ref("result "+r, t, n.keyLines["result:"+r])
		}
		if n.Step != "" && !slices.Contains(names.Steps, n.Step) {
			errf(n.line("step"), "node %s: unknown step %q (one of %s)", id, n.Step, strings.Join(names.Steps, ", "))
		}
		if n.Queue != "" && !slices.Contains(names.Queues, n.Queue) {
			errf(n.line("queue"), "node %s: unknown queue %q (one of %s)", id, n.Queue, strings.Join(names.Queues, ", "))
		}
		if n.Reason != "" && !slices.Contains(Reasons, n.Reason) {
			errf(n.line("reason"), "node %s: unknown reason %q (one of %s)", id, n.Reason, strings.Join(Reasons, ", "))
		}
		if n.Ticket != "" && !slices.Contains(names.Tickets, n.Ticket) {
			errf(n.line("ticket"), "node %s: unknown ticket type %q (one of %s)", id, n.Ticket, strings.Join(names.Tickets, ", "))
		}
	}
	if d := m.defaults; d != nil {
		checkPrompts(d, "on_timeout", d.OnTimeout)
		checkPrompts(d, "on_invalid", d.OnInvalid)
	}

	if broken {
		return probs
	}
	if m.Start == "" {
		errf(0, "start: required: the node a call begins at")
		return probs
	}
	if !isNode(m.Start) {
		errf(m.lines["start"], "start: unknown node %q", m.Start)
		return probs
	}

	// Reachability from start.
	reach := map[string]bool{}
	stack := []string{m.Start}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reach[id] {
			continue
		}
		reach[id] = true
		stack = append(stack, m.edges(id)...)
	}
	for _, id := range m.order {
		if !reach[id] {
			errf(m.Nodes[id].Line, "node %s: unreachable from start node %s", id, m.Start)
		}
	}

	// Loops without exit: a node from which no terminal node can be reached
	// and which lies on a cycle. Each cycle is reported once, at the first of
	// its nodes in the file.
	exits := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, id := range m.order {
			if exits[id] {
				continue
			}
			if n := m.Nodes[id]; terminal(n.Action) {
				exits[id], changed = true, true
				continue
			}
			for _, t := range m.edges(id) {
				if exits[t] {
					exits[id], changed = true, true
					break
				}
			}
		}
	}
	reported := map[string]bool{}
	memo := map[string]map[string]bool{}
	reachable := func(id string) map[string]bool {
		if r, ok := memo[id]; ok {
			return r
		}
		memo[id] = m.reachable(id)
		return memo[id]
	}
	for _, id := range m.order {
		if !reach[id] || exits[id] || reported[id] {
			continue
		}
		from := reachable(id)
		var cycle []string
		for _, other := range m.order {
			if from[other] && reachable(other)[id] {
				cycle = append(cycle, other)
			}
		}
		if len(cycle) == 0 {
			continue // leads into a loop reported at its own node
		}
		for _, c := range cycle {
			reported[c] = true
		}
		shown := strings.Join(cycle, " → ")
		if len(cycle) > 8 {
			shown = strings.Join(cycle[:8], " → ") + fmt.Sprintf(" … %d nodes", len(cycle))
		}
		errf(m.Nodes[id].Line, "node %s: loop without exit (%s): no hangup, enqueue, transfer or selfservice node can be reached",
			id, shown)
	}
	return probs
}

// edges returns the nodes a node can lead to (back and repeat excluded:
// they return to nodes already heard).
func (m *Menu) edges(id string) []string {
	n := m.Nodes[id]
	var out []string
	add := func(t string) {
		if _, ok := m.Nodes[t]; ok {
			out = append(out, t)
		}
	}
	add(n.Next)
	add(n.OnFail)
	add(n.Fallthrough)
	for _, t := range n.Keys {
		add(t)
	}
	for _, t := range n.Results {
		add(t)
	}
	return out
}

// reachable returns the nodes reachable from id in one or more steps.
func (m *Menu) reachable(id string) map[string]bool {
	seen := map[string]bool{}
	stack := m.edges(id)
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[t] {
			continue
		}
		seen[t] = true
		stack = append(stack, m.edges(t)...)
	}
	return seen
}

func actionList() string {
	names := make([]string, 0, len(actions))
	for a := range actions {
		names = append(names, string(a))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func where(n *Node) string {
	if n.ID == "defaults" {
		return "defaults: "
	}
	return "node " + n.ID + ": "
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// empty reports whether a required field was written but left blank.
func (n *Node) empty(field string) bool {
	switch field {
	case "prompts":
		return len(n.Prompts) == 0
	case "keys":
		return len(n.Keys) == 0
	case "max_digits":
		return n.MaxDigits == 0
	}
	v := map[string]string{"next": n.Next, "on_fail": n.OnFail, "step": n.Step, "ticket": n.Ticket,
		"queue": n.Queue, "reason": n.Reason, "to": n.To}[field]
	return strings.TrimSpace(v) == ""
}
