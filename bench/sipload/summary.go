package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// The end of `make bench`: the two-node cluster against one node, then one
// summary of every system measured and of the callback engine.

// systemCPU is what the system itself spent on a step, in CPU seconds: the
// controllers, Asterisks, Kamailio and Redis (servers and sentinels).
// app_queue uses only Asterisk: the idle controller and Redis beside it are
// not its cost.
func systemCPU(r Result, s Step) float64 {
	if r.System == "app_queue" {
		return s.AstCPU
	}
	return s.CtlCPU + s.AstCPU + s.KamCPU + s.RedisCPU
}

// label names a system in the summary.
func label(r Result) string {
	switch r.System {
	case "hotline":
		return "one node (hotline)"
	case "cluster":
		n := "two"
		if r.Nodes != 2 {
			n = fmt.Sprint(r.Nodes)
		}
		return n + "-node cluster (hotline)"
	case "app_queue":
		return "app_queue (one node)"
	}
	return r.System
}

// edgeStep is the step at the highest sustained rate, or the first step
// when none was sustained.
func edgeStep(r Result) (Step, bool) {
	if s, ok := stepAt(r, sustained(r)); ok {
		return s, true
	}
	if len(r.Steps) > 0 {
		return r.Steps[0], false
	}
	return Step{}, false
}

func per100(v float64, s Step) float64 {
	if s.Calls == 0 {
		return math.NaN()
	}
	return v / float64(s.Calls) * 100
}

// compareCluster sets the cluster beside one node: the rates each
// sustained, and where each one's CPU went at the highest rate both
// sustained (or the lowest both ran).
func compareCluster(w io.Writer, h, c Result) {
	at := commonRate(h, c)
	sh, _ := stepAt(h, at)
	sc, _ := stepAt(c, at)
	capH, capC := sustained(h), sustained(c)
	fmt.Fprintf(w, "\nTwo-node cluster against one node (per-call figures at %.0f calls/s, the highest rate both ran and sustained)\n", at)
	fmt.Fprintf(w, "%-44s %-18s %-18s\n", "", "one node", label(c))
	fmt.Fprintf(w, "%-44s %-18.0f %-18.0f cluster / node: %.2f x\n", "highest sustained rate, calls/s", capH, capC, capC/capH)
	row := func(name string, f func(Result, Step) float64) {
		fmt.Fprintf(w, "%-44s %-18.2f %-18.2f\n", name, f(h, sh), f(c, sc))
	}
	row("controllers CPU s per 100 calls", func(r Result, s Step) float64 { return per100(s.CtlCPU, s) })
	row("Asterisk CPU s per 100 calls", func(r Result, s Step) float64 { return per100(s.AstCPU, s) })
	row("Kamailio CPU s per 100 calls", func(r Result, s Step) float64 { return per100(s.KamCPU, s) })
	row("Redis (servers + sentinels) CPU s per 100", func(r Result, s Step) float64 { return per100(s.RedisCPU, s) })
	totH, totC := per100(systemCPU(h, sh), sh), per100(systemCPU(c, sc), sc)
	fmt.Fprintf(w, "%-44s %-18.2f %-18.2f cluster / node: %.2f x\n", "system CPU s per 100 calls", totH, totC, totC/totH)
	if totC > 0 {
		fmt.Fprintf(w, "%-44s %-18s %s\n", "  where the cluster's CPU went", "",
			fmt.Sprintf("Asterisk %.0f %%, controllers %.0f %%, Kamailio %.0f %%, Redis %.0f %%",
				100*sc.AstCPU/systemCPU(c, sc), 100*sc.CtlCPU/systemCPU(c, sc), 100*sc.KamCPU/systemCPU(c, sc), 100*sc.RedisCPU/systemCPU(c, sc)))
	}
	fmt.Fprintf(w, "%-44s %-18s %-18s\n", "Redis commands per call (at the master)",
		fmt.Sprintf("%.0f", float64(sh.RedisCmd)/float64(max(1, sh.Calls))), fmt.Sprintf("%.0f", float64(sc.RedisCmd)/float64(max(1, sc.Calls))))
	fmt.Fprintf(w, "%-44s %-18s %-18s\n", "INVITE->answer p50/p99, ms", ms(sh.AnswerMS, 50, 99), ms(sc.AnswerMS, 50, 99))
	fmt.Fprintf(w, "%-44s %-18s %-18s\n", "key->ringing beyond the prompt p50/p99, ms", ms(minus(sh.RingMS, h.PromptMS), 50, 99), ms(minus(sc.RingMS, c.PromptMS), 50, 99))
	fmt.Fprintf(w, "%-44s %-18.2f %-18.2f\n", "host cores busy while calls were placed", sh.Load.Host, sc.Load.Host)
	fmt.Fprintf(w, "%-44s %-18.2f %-18.2f\n", "  of them other work on the machine", otherWork(sh), otherWork(sc))
	fmt.Fprintf(w, "  Both ran on this machine's same %d cores: a second node here adds no CPU, only a second Asterisk and controller\n"+
		"  sharing them, plus Kamailio in front and Redis replicas (%.2f CPU s per 100 calls more than one node).\n", 2, totC-totH)
}

// printSummary is the last thing `make bench` prints: every system's
// highest sustained rate, its cost and what limited it, and the callback
// engine's figures.
func printSummary(w io.Writer, rs []Result, callbacks []string) {
	fmt.Fprintf(w, "\n=== Summary: each system's highest sustained rate on this machine, measured alone, one after another\n")
	fmt.Fprintf(w, "%-28s %9s %9s %13s %-30s %10s %11s %13s %9s\n", "", "sustained", "first bad", "system CPU s", "per 100 calls: controllers /", "cores busy", "of them", "key->ringing", "channels")
	fmt.Fprintf(w, "%-28s %9s %9s %13s %-30s %10s %11s %13s %9s\n", "system", "calls/s", "calls/s", "per 100 calls", "Asterisk / Kamailio / Redis", "at sust.", "not ours", "p99, ms", "left")
	for _, r := range rs {
		s, ok := edgeStep(r)
		bad := "-"
		if b, found := firstBad(r); found {
			bad = fmt.Sprintf("%.0f", b.Rate)
		}
		parts := fmt.Sprintf("%.2f / %.2f / %s / %.2f", per100(s.CtlCPU, s), per100(s.AstCPU, s), dash(r.System == "cluster", per100(s.KamCPU, s)), per100(s.RedisCPU, s))
		if r.System == "app_queue" {
			parts = fmt.Sprintf("- / %.2f / - / -", per100(s.AstCPU, s))
		}
		at := fmt.Sprintf("%.0f", sustained(r))
		if !ok {
			at = fmt.Sprintf("none (%.0f)", s.Rate) // the figures are of the first step
		}
		fmt.Fprintf(w, "%-28s %9s %9s %13.2f %-30s %10.2f %11.2f %13s %9d\n", label(r), at, bad, per100(systemCPU(r, s), s), parts, s.Load.Host,
			otherWork(s), ms(s.RingMS, 99), channelsLeft(r))
	}
	prompt := 0.0
	for _, r := range rs {
		prompt = max(prompt, r.PromptMS)
	}
	fmt.Fprintf(w, "(sustained: every caller connected and key->ringing p99 within the transfer prompt (%.0f ms) + %d ms, with no lower step bad; the controller rings during the prompt, app_queue after it; first bad: the lowest rate that failed a caller, rang late or left a channel; channels left: Asterisk channels still up 60 s after a step's last caller ended, summed over every step (each a failure: no channel may outlive its caller); CPU, cores and ringing at the sustained rate; not ours: cores busy with work outside the system and sipp, i.e. other developers' on a shared machine; a cluster's CPU is summed over both nodes, Kamailio and every Redis process)\n", prompt, ringLimitMS)
	for _, r := range rs {
		fmt.Fprintf(w, "  %s: %s\n", label(r), limitOf(r))
	}
	if len(callbacks) > 0 {
		fmt.Fprintf(w, "\nCallback engine: 10,000 callbacks over a simulated hour per scenario (go test -run TestSimulateHour ./callbacks/, real Redis)\n")
		for _, l := range callbacks {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

// channelsLeft is the channels a run's steps left behind their callers.
func channelsLeft(r Result) int {
	n := 0
	for _, s := range r.Steps {
		n += s.left()
	}
	return n
}

// otherWork is the cores busy, while a step's calls were placed, with
// work that was neither the system's nor sipp's.
func otherWork(s Step) float64 {
	return max(0, s.Load.Host-s.Load.Ast-s.Load.Ctl-s.Load.Redis-s.Load.Kam-s.Load.Sipp)
}

func dash(show bool, v float64) string {
	if !show {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// callbackFigures picks the callback simulation's figures out of its test
// output: each scenario's heading, the summary table (from the line that
// starts "scenario" to the next blank line) and the verdict lines. It is an
// error when the table is not there.
func callbackFigures(r io.Reader) ([]string, error) {
	var out []string
	table, tableSeen := false, false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t")
		switch {
		case table && line == "":
			table = false
		case table:
			out = append(out, line)
		case strings.HasPrefix(line, "scenario ") && !tableSeen:
			table, tableSeen = true, true
			out = append(out, line)
		case strings.HasPrefix(line, "=== callback simulation "):
			out = append(out, strings.TrimPrefix(line, "=== callback simulation "))
		case strings.HasPrefix(line, "--- PASS: TestSimulateHour"), strings.HasPrefix(line, "--- FAIL: TestSimulateHour"),
			strings.HasPrefix(line, "--- SKIP: TestSimulateHour"):
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !tableSeen {
		return nil, errors.New("no callback simulation table (the line starting \"scenario\") in the test output")
	}
	return out, nil
}
