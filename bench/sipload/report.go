package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// printResult prints one run, a line per step in the order run, and the
// edge found.
func printResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "\n%s (%s): %d agents (%.1f s per agent call for sizing), talk %.1f s, transfer prompt %.0f ms\n",
		r.System, r.Started.Format("2006-01-02 15:04Z"), r.Agents, float64(r.HoldMS)/1000, float64(r.TalkMS)/1000, r.PromptMS)
	fmt.Fprintf(w, "%5s %6s %5s %6s %5s  %-16s %-16s %7s %7s %7s %7s %7s %6s %5s %5s %-30s %s\n", "cps", "agents", "calls", "failed", "conn",
		"INVITE->200 p50/99", "beyond prompt p50/99", "ctl/100", "ast/100", "rds/100", "kam/100", "sipp/100", "sippmax", "rds/c", "load", "deepest taskprocessor", "udp err host/SIP")
	for _, s := range r.Steps {
		per100 := func(v float64) float64 { return v / float64(s.Calls) * 100 }
		// The controller idles during an app_queue run: its columns would
		// only show its background cost, so they are left out.
		ctl, rds, kam := "-", "-", "-"
		if r.System != "app_queue" {
			ctl, rds = fmt.Sprintf("%.2f", per100(s.CtlCPU)), fmt.Sprintf("%.0f", float64(s.RedisCmd)/float64(s.Calls))
		}
		if r.System == "cluster" {
			kam = fmt.Sprintf("%.2f", per100(s.KamCPU))
		}
		mark := " "
		if s.Refine {
			mark = "~"
		}
		fmt.Fprintf(w, "%4.0f%s %6s %5d %6d %5d  %-16s %-16s %7s %7.2f %7.2f %7s %7.2f %5.0f%% %5s %5.2f %-30s %d/%d  %s\n", s.Rate, mark,
			fmt.Sprintf("%d/%d", s.AgentsNeeded, r.Agents), s.Calls, s.Failed, s.Connected,
			ms(s.AnswerMS, 50, 99), ms(minus(s.RingMS, r.PromptMS), 50, 99), ctl, per100(s.AstCPU), per100(s.RedisCPU), kam, per100(s.SippCPU),
			100*s.SippMax, rds, s.Load.Host, trunc(fmt.Sprintf("%s %d", s.TaskQueue, s.TaskDepth), 30), s.UDPErrors, s.SIPDrops, verdictOf(s, r.PromptMS)+edgeNote(s))
	}
	fmt.Fprintf(w, "(cps: ~ a bisection step; agents: needed by Erlang C for P(wait) < 1 %% / present; CPU in s per 100 calls, summed over the system's processes (a cluster: both controllers and Asterisks, every Redis server and sentinel; kam: Kamailio); sippmax: the busiest sipp process, %% of a core; load: cores busy on the host while the calls were placed, of 2; udp err: the host's UDP InErrors (sipp callers' media sockets, which never read Asterisk's audio, count too) / drops at the SIP sockets of Asterisk and Kamailio)\n")
	fmt.Fprintf(w, "peak RSS: controller %.1f MB, Asterisk %.1f MB%s\n", float64(r.CtlPeakRSS)/1024, float64(r.AstPeakRSS)/1024, map[bool]string{true: " (summed over the nodes)"}[r.Nodes > 1])
	if r.System != "app_queue" {
		fmt.Fprintf(w, "served callers nevertheless promised a \"cut off\" callback by the controller: %d\n", r.CutOff)
	}
	fmt.Fprintf(w, "highest sustained rate: %.0f calls/s; %s\n", sustained(r), limitOf(r))
	printScaling(w, r)
}

// printScaling is the scaling curve: the cost per call at 1×, 2× and 4× the
// lowest rate (with 1×, 2× and 4× the agents busy and callers in the
// system), from the good steps at those rates. Flat per call is the aim.
func printScaling(w io.Writer, r Result) {
	if r.System != "hotline" || len(r.Steps) == 0 {
		return
	}
	base := r.Steps[0].Rate
	var rows []Step
	for _, m := range []float64{1, 2, 4} {
		if s, ok := stepAt(r, base*m); ok && good(s, r.PromptMS) {
			rows = append(rows, s)
		}
	}
	if len(rows) < 2 {
		return
	}
	fmt.Fprintf(w, "scaling (hotline): %5s %9s %8s %12s %13s %12s %14s\n", "load", "calls/s", "channels", "agents busy", "ctl ms/call", "Redis cmd/call", "ctl RSS, Redis mem")
	for _, s := range rows {
		fmt.Fprintf(w, "                   %4.0fx %9.0f %8d %12.0f %13.1f %12.0f %8.1f MB, %.1f MB\n", s.Rate/base, s.Rate, s.Channels,
			s.Rate*float64(r.HoldMS)/1000, 1000*s.CtlCPU/float64(s.Calls), float64(s.RedisCmd)/float64(s.Calls),
			float64(s.CtlRSSKB)/1024, float64(s.RedisMemB)/(1<<20))
	}
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}

// edgeNote tells of INVITEs Kamailio sent on to another node in a step.
func edgeNote(s Step) string {
	if s.NodeTimeouts == 0 {
		return ""
	}
	return fmt.Sprintf(" (Kamailio: %d INVITEs unanswered by a node within its timeout, sent to the next)", s.NodeTimeouts)
}

// verdictOf says whether a step was good and, if not, why.
func verdictOf(s Step, promptMS float64) string {
	var why []string
	if s.Failed > 0 || !s.SippOK {
		why = append(why, fmt.Sprintf("%d callers failed", s.Failed))
	}
	if s.Connected < s.Calls {
		why = append(why, fmt.Sprintf("%d not connected", s.Calls-s.Connected))
	}
	if p := percentile(s.RingMS, 99) - promptMS; p > ringLimitMS {
		why = append(why, fmt.Sprintf("ringing p99 %.0f ms beyond the prompt", p))
	}
	if n := s.left(); n > 0 {
		why = append(why, fmt.Sprintf("%d channels outlived their callers (%s)", n, leftText(s.Left)))
	}
	if len(why) == 0 {
		return "ok"
	}
	return "BAD: " + strings.Join(why, ", ")
}

// limitOf explains the edge from the first bad step: which resource ran out.
func limitOf(r Result) string {
	s, ok := firstBad(r)
	if !ok {
		return "no step failed: the edge is above the highest rate tried"
	}
	kam, sock := "", "Asterisk's SIP socket"
	if r.System == "cluster" {
		kam, sock = fmt.Sprintf(", Kamailio %.2f", s.Load.Kam), "the SIP sockets of Asterisk and Kamailio"
	}
	use := fmt.Sprintf("at %.0f calls/s, while calls were placed: host %.2f of 2 cores busy (Asterisk %.2f, controller %.2f, Redis %.2f%s, sipp %.2f, other work on the machine %.2f; busiest sipp process %.0f %% of a core over the step), deepest taskprocessor %s (%d), UDP drops at %s %d (host %d)",
		s.Rate, s.Load.Host, s.Load.Ast, s.Load.Ctl, s.Load.Redis, kam, s.Load.Sipp, otherWork(s), 100*s.SippMax, s.TaskQueue, s.TaskDepth, sock, s.SIPDrops, s.UDPErrors)
	var limit []string
	switch {
	case s.SippMax > 0.9:
		limit = append(limit, "a sipp process (the load generator, not the system: add processes)")
	case s.AgentsNeeded > r.Agents:
		limit = append(limit, "the agent pool")
	}
	if s.Load.Host > 1.8 {
		limit = append(limit, "CPU")
	}
	if s.TaskDepth >= 100 {
		limit = append(limit, "Asterisk's "+s.TaskQueue+" queue")
	}
	if s.SIPDrops > 0 {
		limit = append(limit, "SIP packets dropped at "+sock)
	}
	if s.NodeTimeouts > 0 {
		limit = append(limit, fmt.Sprintf("Kamailio taking a slow node for a dead one (%d INVITEs unanswered within its node timeout, HOTLINE_KAMAILIO_NODE_TIMEOUT_MS, were sent on to the other node)", s.NodeTimeouts))
	}
	if len(limit) == 0 {
		limit = append(limit, "no saturated resource; the step was "+verdictOf(s, r.PromptMS))
	}
	return "limited by " + strings.Join(limit, " and ") + " — " + use
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "NOT SUSTAINED"
}

func ms(xs []float64, ps ...float64) string {
	if len(xs) == 0 {
		return "-"
	}
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%.0f", percentile(xs, p)))
	}
	return strings.Join(parts, "/")
}

// commonRate is where per-call figures are compared: the highest rate both
// systems ran and sustained, else the lowest rate both ran.
func commonRate(h, q Result) float64 {
	best, low := 0.0, math.Inf(1)
	for _, sh := range h.Steps {
		sq, ok := stepAt(q, sh.Rate)
		if !ok {
			continue
		}
		low = min(low, sh.Rate)
		if good(sh, h.PromptMS) && good(sq, q.PromptMS) {
			best = max(best, sh.Rate)
		}
	}
	if best > 0 {
		return best
	}
	if math.IsInf(low, 1) {
		return h.Steps[0].Rate
	}
	return low
}

func stepAt(r Result, rate float64) (Step, bool) {
	for _, s := range r.Steps {
		if s.Rate == rate {
			return s, true
		}
	}
	return Step{}, false
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", ".run/bench/results.jsonl", "results written by sipload run")
	list := fs.String("systems", "hotline,cluster,app_queue", "the systems to report, each by its last run in -in")
	callbacks := fs.String("callbacks", "", "output of the callback simulation (go test -run TestSimulateHour -v ./callbacks/), for the summary")
	_ = fs.Parse(args)
	runs, err := lastRuns(*in)
	if err != nil {
		return err
	}
	var rs []Result
	for _, name := range strings.FieldsFunc(*list, func(r rune) bool { return r == ',' || r == ' ' }) {
		r, ok := runs[name]
		if !ok {
			return fmt.Errorf("%s: no run of %s", *in, name)
		}
		rs = append(rs, r)
	}
	w := os.Stdout
	for _, r := range rs {
		printResult(w, r)
	}
	h, hok := runs["hotline"]
	q, qok := runs["app_queue"]
	c, cok := runs["cluster"]
	if strings.Contains(*list, "hotline") && strings.Contains(*list, "app_queue") && hok && qok {
		compareQueue(w, h, q)
	}
	if strings.Contains(*list, "hotline") && strings.Contains(*list, "cluster") && hok && cok {
		compareCluster(w, h, c)
	}
	var cb []string
	if *callbacks != "" {
		f, err := os.Open(*callbacks)
		if err != nil {
			return err
		}
		defer f.Close()
		if cb, err = callbackFigures(f); err != nil {
			return fmt.Errorf("%s: %w", *callbacks, err)
		}
	}
	printSummary(w, rs, cb)
	return nil
}

// lastRuns reads results.jsonl: the last run of each system.
func lastRuns(path string) (map[string]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	last := map[string]Result{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		last[r.System] = r
	}
	return last, sc.Err()
}

// compareQueue sets the hotline on one node beside app_queue on the same
// Asterisk (issue 17's targets).
func compareQueue(w io.Writer, h, q Result) {
	capH, capQ := sustained(h), sustained(q)
	at := commonRate(h, q)
	sh, _ := stepAt(h, at)
	sq, _ := stepAt(q, at)
	fmt.Fprintf(w, "\nOne node: hotline against app_queue (per-call figures at %.0f calls/s, the highest rate both ran and sustained)\n", at)
	fmt.Fprintf(w, "%-40s %-16s %-16s %s\n", "", "hotline", "app_queue", "target")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintf(w, "%-40s %-16s %-16s >= 1.5 x app_queue's: %s (%.2f x)\n", "highest sustained rate, calls/s",
		fmt.Sprintf("%.0f", capH), fmt.Sprintf("%.0f", capQ), verdict(capH >= 1.5*capQ), capH/capQ)
	fmt.Fprintf(w, "  hotline:   %s\n  app_queue: %s\n", limitOf(h), limitOf(q))
	fmt.Fprintf(w, "  (sustained: every caller connected, key->ringing p99 within the prompt + %d ms, and no lower step bad)\n", ringLimitMS)
	// The controller rings the agent while the prompt plays, so the
	// criterion above leaves it the prompt's length of slack; its own
	// target is key->ringing p99 < 300 ms from the key.
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "  hotline, with key->ringing p99 < 300 ms", fmt.Sprintf("%.0f", sustained(Result{Steps: h.Steps, PromptMS: 0})), "-")
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "INVITE->answer p50/p95/p99, ms", ms(sh.AnswerMS, 50, 95, 99), ms(sq.AnswerMS, 50, 95, 99))
	ringP99 := percentile(sh.RingMS, 99)
	fmt.Fprintf(w, "%-40s %-16s %-16s p99 < 300 ms: %s\n", "menu key->agent ringing p50/p99, ms", ms(sh.RingMS, 50, 99), ms(sq.RingMS, 50, 99), verdict(ringP99 < 300))
	if h.PromptMS > 0 {
		fmt.Fprintf(w, "%-40s %-16s %-16s\n", "  of which the transfer prompt, ms", fmt.Sprintf("%.0f", h.PromptMS), fmt.Sprintf("%.0f", q.PromptMS))
		fmt.Fprintf(w, "%-40s %-16s %-16s p99 < 300 ms: %s\n", "  beyond the prompt p50/p99, ms", ms(minus(sh.RingMS, h.PromptMS), 50, 99), ms(minus(sq.RingMS, q.PromptMS), 50, 99),
			verdict(ringP99-h.PromptMS < 300))
	}
	// Net: less what the process spends idle over the step's wall time
	// (pollers and timers), i.e. the cost the calls themselves add.
	net := func(v, idlePerS float64, st Step) float64 { return per100(v-idlePerS*st.Seconds, st) }
	ctl, astH, astQ := per100(sh.CtlCPU, sh), per100(sh.AstCPU, sh), per100(sq.AstCPU, sq)
	ctlN, astHN, astQN := net(sh.CtlCPU, h.IdleCtlCPU, sh), net(sh.AstCPU, h.IdleAstCPU, sh), net(sq.AstCPU, q.IdleAstCPU, sq)
	pair := func(raw, netv float64) string { return fmt.Sprintf("%.2f (net %.2f)", raw, netv) }
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "controller CPU s per 100 calls", pair(ctl, ctlN), "-")
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "Asterisk CPU s per 100 calls", pair(astH, astHN), pair(astQ, astQN))
	fmt.Fprintf(w, "%-40s %-16s %-16s <= 0.25 (net): %s\n", "controller CPU / Asterisk CPU", pair(ctl/astH, ctlN/astHN), "-", verdict(ctlN/astHN <= 0.25))
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "controller + Asterisk CPU s per 100", pair(ctl+astH, ctlN+astHN), pair(astQ, astQN))
	fmt.Fprintf(w, "%-40s %-16s %-16s <= 0.67 (net): %s\n", "  hotline / app_queue", fmt.Sprintf("%.2f (net %.2f)", (ctl+astH)/astQ, (ctlN+astHN)/astQN), "",
		verdict((ctlN+astHN)/astQN <= 0.67))
	rds := float64(sh.RedisCmd) / float64(sh.Calls)
	rdsN := (float64(sh.RedisCmd) - h.IdleRedis*sh.Seconds) / float64(sh.Calls)
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "Redis commands per call", fmt.Sprintf("%.0f (net %.0f)", rds, rdsN), "-")
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "idle: controller CPU s/s, Redis cmd/s", fmt.Sprintf("%.3f, %.1f", h.IdleCtlCPU, h.IdleRedis), "-")
	fmt.Fprintf(w, "%-40s %-16s %-16s\n", "controller peak RSS (VmHWM), MB", fmt.Sprintf("%.1f", float64(h.CtlPeakRSS)/1024), "-")
}

func minus(xs []float64, d float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x - d
	}
	return out
}
