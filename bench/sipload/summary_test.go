package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

const simOutput = `=== RUN   TestSimulateHour
=== RUN   TestSimulateHour/abandoned

=== callback simulation "abandoned": 10000 callbacks over 1h0m0s (0% first_contact, deadline 30m0s), 80 lines, tick 1s, seed 1
  callbacks 10000  attempts 13867 (1.39 per callback)  completed 9723  failed 277  expired 0
=== NAME  TestSimulateHour
    sim_test.go:472: 
        scenario         lines callbacks attempts completed  failed expired  in-window  lag p50  lag p99  cmds/cb     wall
        abandoned           80     10000    13867      9723     277       0   100.000%   0.123s   0.247s     47.7  14.957s
        

scenario         lines callbacks attempts completed  failed expired  in-window  lag p50  lag p99  cmds/cb     wall
abandoned           80     10000    13867      9723     277       0   100.000%   0.123s   0.247s     47.7  14.957s
mixed-overload      40     10000    10986      7695    2186     119    98.840% 497.149s 569.953s     38.1  12.419s

--- PASS: TestSimulateHour (40.28s)
    --- PASS: TestSimulateHour/abandoned (15.09s)
PASS
ok  	github.com/hotline95598/hotline/callbacks	40.313s
`

func TestCallbackFigures(t *testing.T) {
	got, err := callbackFigures(strings.NewReader(simOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`"abandoned": 10000 callbacks over 1h0m0s (0% first_contact, deadline 30m0s), 80 lines, tick 1s, seed 1`,
		"scenario         lines callbacks attempts completed  failed expired  in-window  lag p50  lag p99  cmds/cb     wall",
		"abandoned           80     10000    13867      9723     277       0   100.000%   0.123s   0.247s     47.7  14.957s",
		"mixed-overload      40     10000    10986      7695    2186     119    98.840% 497.149s 569.953s     38.1  12.419s",
		"--- PASS: TestSimulateHour (40.28s)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("figures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := callbackFigures(strings.NewReader("--- FAIL: TestSimulateHour (1s)\nFAIL\n")); err == nil {
		t.Fatal("output without the table: no error")
	}
}

func TestSystemCPU(t *testing.T) {
	s := Step{Calls: 100, CtlCPU: 1, AstCPU: 4, KamCPU: 0.5, RedisCPU: 0.25}
	for _, c := range []struct {
		system string
		want   float64
	}{{"hotline", 5.75}, {"cluster", 5.75}, {"app_queue", 4}} {
		if got := systemCPU(Result{System: c.system}, s); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", c.system, got, c.want)
		}
	}
}

// The summary holds one row per system, in the order given, with each
// one's sustained rate and first bad rate, and the callback lines.
func TestPrintSummary(t *testing.T) {
	ok := func(rate float64) Step {
		return Step{Rate: rate, Calls: 100, Connected: 100, SippOK: true, RingMS: []float64{100}, AstCPU: 4, CtlCPU: 1}
	}
	bad := func(rate float64) Step { s := ok(rate); s.Failed = 3; return s }
	// Every caller connected, but channels outlived them: bad, and counted.
	leaky := func(rate float64) Step { s := ok(rate); s.Left = map[string]int{"a": 30, "b": 34}; return s }
	node := Result{System: "hotline", Nodes: 1, Steps: []Step{ok(8), ok(16), bad(24)}}
	cluster := Result{System: "cluster", Nodes: 2, Steps: []Step{ok(8), ok(16), ok(24), leaky(32)}}
	queue := Result{System: "app_queue", Nodes: 1, Steps: []Step{bad(8)}}
	var b bytes.Buffer
	printSummary(&b, []Result{node, cluster, queue}, []string{"scenario lines", "--- PASS: TestSimulateHour (1s)"})
	out := b.String()
	for _, want := range []string{
		"one node (hotline)                  16        24",
		"two-node cluster (hotline)          24        32",
		"channels", "left",
		"app_queue (one node)          none (8)         8",
		"Callback engine", "  --- PASS: TestSimulateHour (1s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, row := range strings.Split(out, "\n") {
		if strings.HasPrefix(row, "two-node cluster (hotline)  ") && !strings.HasSuffix(row, " 64") {
			t.Errorf("the cluster's row does not end with the 64 channels its 32 calls/s step left: %q", row)
		}
		if strings.HasPrefix(row, "one node (hotline)  ") && !strings.HasSuffix(row, " 0") {
			t.Errorf("one node left no channel, but its row says otherwise: %q", row)
		}
	}
	if v := verdictOf(leaky(32), 0); !strings.Contains(v, "BAD: 64 channels outlived their callers (a 30, b 34)") {
		t.Errorf("verdict of a step that left channels: %q", v)
	}
	if strings.Index(out, "one node (hotline)") > strings.Index(out, "two-node cluster") {
		t.Error("rows not in the order given")
	}
}

// Through the edge the caller's ACK and the agent's answers and BYE follow
// the recorded route; the rewrites fail loudly when internal/sipp changes.
func TestRoutedScenarios(t *testing.T) {
	caller, err := routedCaller(1500*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := routedAgent()
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.Render(caller, scenario.Data{Phone: "[field0]", Service: "[service]", Stamp: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := scenario.Render(agent, scenario.Data{AnswerAfterMS: 100, TalkMS: 3000, Stamp: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`rrs="true"`, "ACK [next_url] SIP/2.0", "CSeq: 1 ACK\n[routes]\n"} {
		if !strings.Contains(c, want) {
			t.Errorf("routed caller lacks %q", want)
		}
	}
	for _, want := range []string{`<recv request="INVITE" crlf="true" rrs="true"`, "BYE [next_url] SIP/2.0", "CSeq: 1 BYE\n[routes]\n"} {
		if !strings.Contains(a, want) {
			t.Errorf("routed agent lacks %q", want)
		}
	}
	if n := strings.Count(a, "[last_Record-Route:]"); n != 2 {
		t.Errorf("routed agent copies Record-Route into %d answers, want 2 (180, 200)", n)
	}
	if strings.Contains(a, "$contact") {
		t.Error("routed agent still captures or uses the Contact")
	}
	if _, err := rewritten("abc", rewrite{"x", "y", 1}); err == nil {
		t.Error("a rewrite that does not apply: no error")
	}
}

func TestCountSince(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/kamailio.log"
	before := "x " + nodeTimeoutMark + "\nother\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	off := logSize(path)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "a %s\nb\nc %s\n", nodeTimeoutMark, nodeTimeoutMark)
	f.Close()
	if got := countSince(path, off, nodeTimeoutMark); got != 2 {
		t.Errorf("counted %d since the offset, want 2", got)
	}
	if got := countSince("", 0, nodeTimeoutMark); got != 0 {
		t.Errorf("no log: %d", got)
	}
}
