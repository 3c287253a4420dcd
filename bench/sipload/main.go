// Command sipload is the load benchmark of bench/load.sh: sipp callers dial
// the hotline, press 0 in the menu and wait for sipp agents; the same load
// runs against the controller on one node (95598), against a plain dialplan
// with app_queue on the same Asterisk (95599), and against the two-node
// cluster behind Kamailio (target.go). It prints figures, not a verdict.
//
//	sipload run -system hotline|app_queue|cluster ...   measure one system, append to -out
//	sipload report -in results.jsonl -systems ...       compare the last run of each system
//	sipload agents -rates ... -talk ...         the agent pool the rates need (Erlang C)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/config"
	scenario "github.com/hotline95598/hotline/internal/sipp"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sipload run|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	case "agents":
		err = agentsCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (run|report|agents)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

// Step is one call rate held for a while, with what it cost.
type Step struct {
	Rate         float64 `json:"rate"`
	Refine       bool    `json:"refine,omitempty"` // a step of the bisection near the edge
	AgentsNeeded int     `json:"agents_needed"`    // Erlang C at this rate (the pool has Result.Agents)
	Calls        int     `json:"calls"`
	Failed       int     `json:"failed"`    // callers who never got the hang-up after the talk
	SippOK       bool    `json:"sipp_ok"`   // sipp counted no failed call
	Connected    int     `json:"connected"` // callers an agent answered
	Seconds      float64 `json:"seconds"`   // wall time from the first INVITE to the last call's end

	// Summed over the system's processes: a cluster has two controllers
	// and Asterisks, three Redis servers and three sentinels, Kamailio.
	CtlCPU   float64 `json:"controller_cpu_s"`
	AstCPU   float64 `json:"asterisk_cpu_s"`
	RedisCPU float64 `json:"redis_cpu_s"`
	KamCPU   float64 `json:"kamailio_cpu_s,omitempty"`
	SippCPU  float64 `json:"sipp_cpu_s"`     // every sipp process of the step
	SippProc int     `json:"sipp_processes"` // callers' and agents' processes
	SippMax  float64 `json:"sipp_max_core"`  // the busiest sipp process, share of one core
	HostBusy float64 `json:"host_busy"`      // share of both cores busy (all processes)
	// While the calls were placed (the step's first -step), in cores:
	// averaged over the whole step a bad step's stragglers dilute it.
	Load struct {
		Host, Ast, Ctl, Redis, Kam, Sipp float64
	} `json:"load_cores"`
	RedisCmd int64 `json:"redis_commands"`
	// At the end of the load window, for the scaling curve: Asterisk's
	// channels (callers and agents in the system), the controller's RSS and
	// Redis's used memory.
	Channels  int   `json:"channels_at_peak"`
	CtlRSSKB  int64 `json:"controller_rss_kb"`
	RedisMemB int64 `json:"redis_used_memory"`

	TaskQueue string `json:"taskprocessor,omitempty"` // Asterisk's deepest taskprocessor queue
	TaskDepth int    `json:"taskprocessor_depth"`
	UDPErrors int64  `json:"udp_in_errors"` // host-wide, during the step
	UDPRcvbuf int64  `json:"udp_rcvbuf_errors"`
	SIPDrops  int64  `json:"asterisk_sip_drops"` // drops of the SIP sockets of Asterisk (and Kamailio)
	// INVITEs Kamailio gave up on a node for (no answer within its node
	// timeout) and sent to the next node: a slow node taken for a dead one.
	NodeTimeouts int `json:"edge_node_timeouts,omitempty"`
	// Channels still up 60 s after the step's last caller ended, per node
	// (then hung up by the tool): channels that outlived their callers.
	// A step that leaves any is bad.
	Left map[string]int `json:"channels_left,omitempty"`

	AnswerMS []float64 `json:"answer_ms"` // INVITE sent -> 200 OK received, per call
	RingMS   []float64 `json:"ring_ms"`   // key sent -> INVITE at the agent, per connected call
}

// OK: every caller completed and was connected to an agent.
func (s Step) OK() bool {
	return s.Calls > 0 && s.SippOK && s.Failed == 0 && s.Connected == s.Calls && s.left() == 0
}

// left is the channels the step left behind, over every node.
func (s Step) left() int {
	n := 0
	for _, v := range s.Left {
		n += v
	}
	return n
}

// Result is one run of one system.
type Result struct {
	System     string    `json:"system"`
	Nodes      int       `json:"nodes,omitempty"` // Asterisk nodes (a cluster's)
	Started    time.Time `json:"started"`
	Agents     int       `json:"agents"`
	TalkMS     int       `json:"talk_ms"`
	HoldMS     int       `json:"agent_hold_ms"` // per call, for sizing
	PromptMS   float64   `json:"transfer_prompt_ms"`
	CtlPeakRSS int64     `json:"controller_peak_rss_kb"`
	AstPeakRSS int64     `json:"asterisk_peak_rss_kb"`
	// Idle cost per second before the first call (timers, pollers):
	// subtracted from the per-call figures of the summary.
	IdleCtlCPU float64 `json:"idle_controller_cpu_per_s"`
	IdleAstCPU float64 `json:"idle_asterisk_cpu_per_s"`
	IdleRedis  float64 `json:"idle_redis_commands_per_s"`
	// Served callers the controller nevertheless took for cut off and
	// promised a callback (its log, during the run).
	CutOff int    `json:"cut_off_callbacks"`
	Steps  []Step `json:"steps"`
}

type opts struct {
	envFile, runDir, system, out, sounds, rootfs string
	rates                                        []float64
	step, keyAfter, idle                         time.Duration
	z                                            sizing
	refine                                       int
	callerPort, agentPort, cpsPerSipp, perAgents int
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o opts
	var rates string
	fs.StringVar(&o.envFile, "env", "bench/hotline.env", "env file of the bench stack (not read for a cluster)")
	fs.StringVar(&o.runDir, "run-dir", ".run/bench", "run directory of the bench stack, or of the cluster (HOTLINE_CLUSTER_RUN)")
	fs.StringVar(&o.system, "system", "hotline", "hotline (one node: the controller, 95598), app_queue (dialplan + app_queue, 95599) or cluster (Kamailio, two nodes, 95598)")
	fs.StringVar(&o.out, "out", ".run/bench/results.jsonl", "append the result here")
	fs.StringVar(&o.sounds, "sounds", "", "Asterisk's sounds/hotline directory (for the transfer prompt's length)")
	fs.StringVar(&o.rootfs, "rootfs", "/var/cache/hotline/rootfs-sid", "Asterisk's root filesystem (for asterisk -rx)")
	fs.StringVar(&rates, "rates", "2,4,8,16", "call rates (calls per second), rising; the climb stops at the first bad step")
	fs.IntVar(&o.refine, "refine", 2, "bisection steps between the last good and the first bad rate")
	fs.DurationVar(&o.step, "step", 20*time.Second, "how long each rate is held")
	fs.DurationVar(&o.idle, "idle", 10*time.Second, "idle time measured before the first call")
	o.z.flags(fs)
	fs.DurationVar(&o.keyAfter, "key-after", 1500*time.Millisecond, "caller presses 0 this long after the answer")
	fs.IntVar(&o.callerPort, "caller-port", 25100, "SIP port of the first sipp caller process (next ones +1; media 27000+10k)")
	fs.IntVar(&o.agentPort, "agent-port", 25300, "SIP port of the first sipp agent process (next ones +1; media 27500+10g)")
	fs.IntVar(&o.cpsPerSipp, "cps-per-sipp", 15, "callers per second one sipp process places (more processes above)")
	fs.IntVar(&o.perAgents, "agents-per-sipp", 50, "agents one sipp process answers for")
	_ = fs.Parse(args)
	var err error
	if o.rates, err = parseRates(rates); err != nil {
		return err
	}
	t, err := loadTarget(o)
	if err != nil {
		return err
	}
	agents, procs := t.agents, t.procs
	if need := o.z.agents(slices.Max(o.rates)); len(agents) < need {
		logf("warning: %d agents, but %.0f calls/s needs %d (Erlang C): agents may be the limit", len(agents), slices.Max(o.rates), need)
	}
	callerScenario, agentScenario := callerXML(o.keyAfter, time.Second), agentXML
	if t.routed {
		if callerScenario, err = routedCaller(o.keyAfter, time.Second); err != nil {
			return err
		}
		if agentScenario, err = routedAgent(); err != nil {
			return err
		}
	}

	res := Result{System: o.system, Nodes: len(t.asts), Started: time.Now().UTC(), Agents: len(agents), TalkMS: int(o.z.talk.Milliseconds()), HoldMS: int(o.z.hold().Milliseconds())}
	if o.sounds != "" {
		res.PromptMS = wavMS(filepath.Join(o.sounds, "transfer_agent.wav"))
	}
	dir, err := filepath.Abs(filepath.Join(o.runDir, "sipp", o.system+"-"+res.Started.Format("150405")))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logf("%s: work dir %s", o.system, dir)

	// Agents: logged in at the controller (it only rings logged-in agents;
	// app_queue rings its static members), registered in groups, one sipp
	// process per group answering from the port the group registered from.
	api := t.api
	for _, a := range agents {
		_, _ = api.post("/api/v1/agents/" + a[0] + "/logout")
		if t.login {
			if code, err := api.post("/api/v1/agents/" + a[0] + "/login"); err != nil || code != 200 {
				return fmt.Errorf("log in agent %s: HTTP %d %v", a[0], code, err)
			}
		}
	}
	groups := (len(agents) + o.perAgents - 1) / o.perAgents
	agentArgs := func(g int) []string {
		return []string{"-p", strconv.Itoa(o.agentPort + g), "-mp", strconv.Itoa(27500 + 10*g)}
	}
	for i, a := range agents {
		reg, err := startSipp(dir, "register", registerXML, scenario.Data{ID: a[0], Password: a[1]},
			append(agentArgs(i%groups), "-m", "1", "-timeout", "10s", t.sipAddr))
		if err != nil {
			return err
		}
		if err := reg.wait(15 * time.Second); err != nil {
			return fmt.Errorf("register agent %s: %w (see %s)", a[0], err, dir)
		}
	}
	logf("%s: %d agents registered, answered by %d sipp processes", o.system, len(agents), groups)
	agentData := scenario.Data{AnswerAfterMS: int(o.z.answerAfter.Milliseconds()), TalkMS: int(o.z.talk.Milliseconds()), Stamp: true}

	// The idle cost, measured with the agents registered and no call.
	idle0, err := procs.sample()
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(o.idle)
	idle1, err := procs.sample()
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	res.IdleCtlCPU, res.IdleAstCPU = (idle1.ctl-idle0.ctl)/secs, (idle1.ast-idle0.ast)/secs
	res.IdleRedis = float64(idle1.redis-idle0.redis-1) / secs
	logf("%s: idle for %s: controller %.3f CPU s/s, Asterisk %.3f CPU s/s, Redis %.1f commands/s", o.system, o.idle, res.IdleCtlCPU, res.IdleAstCPU, res.IdleRedis)

	// The caller waits at most 30 s for the hang-up: a normal call ends
	// within about 10 s, and a stuck one must not hold the search up.
	callerData := scenario.Data{Phone: "[field0]", Service: "[service]", ByeTimeoutMS: 30000, Stamp: true}
	for i := 0; ; i++ {
		rate := nextRate(o.rates, res.Steps, res.PromptMS, o.refine)
		if rate == 0 || i >= 100 {
			break
		}
		step := Step{Rate: rate, Refine: rate < slices.Max(o.rates) && !slices.Contains(o.rates, rate), AgentsNeeded: o.z.agents(rate)}
		n := int(math.Round(rate * o.step.Seconds()))
		nproc := max(1, int(math.Ceil(rate/float64(o.cpsPerSipp))))
		phones := map[string]bool{}
		var agentProcs, callerProcs []*sippProc
		for g := 0; g < groups; g++ {
			p, err := startSipp(dir, fmt.Sprintf("agent-%d-%d", i, g), agentScenario, agentData,
				append(agentArgs(g), "-rtp_echo", "-trace_logs", "-log_file", filepath.Join(dir, fmt.Sprintf("agent-%d-%d.log", i, g))))
			if err != nil {
				return err
			}
			agentProcs = append(agentProcs, p)
		}
		time.Sleep(300 * time.Millisecond)
		before, err := procs.sample()
		if err != nil {
			return err
		}
		udp0, rcv0 := udpErrors()
		sip0 := socketDrops(t.sipPorts...)
		edge0 := logSize(t.edgeLog)
		tasks := watchTasks(t.asts, time.Second)
		logf("%s: %.0f calls/s for %s (%d calls, %d caller and %d agent sipp processes; %d agents needed, %d present)",
			o.system, rate, o.step, n, nproc, groups, step.AgentsNeeded, len(agents))
		t0 := time.Now()
		for k := 0; k < nproc; k++ {
			var csv strings.Builder
			csv.WriteString("SEQUENTIAL\n")
			m := 0
			for c := k; c < n; c += nproc {
				p := t.callerNumber(i, c)
				phones[p] = true
				fmt.Fprintf(&csv, "%s\n", p)
				m++
			}
			if m == 0 {
				continue
			}
			name := fmt.Sprintf("caller-%d-%d", i, k)
			csvPath := filepath.Join(dir, name+".csv")
			if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
				return err
			}
			p, err := startSipp(dir, name, callerScenario, callerData, []string{
				"-inf", csvPath, "-s", t.service, "-r", strconv.FormatFloat(rate/float64(nproc), 'f', 3, 64), "-rp", "1000",
				"-m", strconv.Itoa(m), "-l", "5000", "-p", strconv.Itoa(o.callerPort + k), "-mp", strconv.Itoa(27000 + 10*k),
				"-timeout", fmt.Sprintf("%ds", int(o.step.Seconds())+45), "-timeout_error",
				"-trace_logs", "-log_file", filepath.Join(dir, name+".log"), t.sipAddr})
			if err != nil {
				return err
			}
			callerProcs = append(callerProcs, p)
		}
		// The load window: from the first INVITE to the last.
		time.Sleep(time.Until(t0.Add(o.step)))
		var sippPids []int
		for _, p := range append(callerProcs, agentProcs...) {
			sippPids = append(sippPids, p.cmd.Process.Pid)
		}
		if mid, err := procs.sample(); err == nil {
			w := time.Since(t0).Seconds()
			step.Load.Host = 2 * busyShare(before, mid)
			step.Load.Ast, step.Load.Ctl, step.Load.Redis = (mid.ast-before.ast)/w, (mid.ctl-before.ctl)/w, (mid.redisCPU-before.redisCPU)/w
			step.Load.Kam = (mid.kam - before.kam) / w
			for _, pid := range sippPids {
				step.Load.Sipp += cpuOf(pid) / w // from the step's start: the processes are new
			}
		}
		step.CtlRSSKB = sumKB(procs.ctl, "VmRSS")
		step.RedisMemB = redisMemory(procs.redisAddr)
		if n, err := channels(t.asts); err == nil {
			step.Channels = n
		}
		var runErr error
		for _, p := range callerProcs {
			if err := p.wait(o.step + 60*time.Second); err != nil && runErr == nil {
				runErr = err
			}
		}
		elapsed := time.Since(t0)
		for _, p := range agentProcs {
			p.stop(10 * time.Second)
		}
		after, err := procs.sample()
		if err != nil {
			return err
		}
		step.TaskQueue, step.TaskDepth = tasks.end()
		udp1, rcv1 := udpErrors()
		step.SIPDrops = socketDrops(t.sipPorts...) - sip0
		step.NodeTimeouts = countSince(t.edgeLog, edge0, nodeTimeoutMark)
		step.Calls, step.SippOK, step.Seconds = n, runErr == nil, elapsed.Seconds()
		step.CtlCPU, step.AstCPU, step.RedisCPU = after.ctl-before.ctl, after.ast-before.ast, after.redisCPU-before.redisCPU
		step.KamCPU = after.kam - before.kam
		step.HostBusy, step.RedisCmd = busyShare(before, after), after.redis-before.redis-1 // minus our own INFO
		step.UDPErrors, step.UDPRcvbuf = udp1-udp0, rcv1-rcv0
		for _, p := range append(callerProcs, agentProcs...) {
			c := p.cpu()
			step.SippCPU += c
			step.SippMax = max(step.SippMax, c/elapsed.Seconds())
			step.SippProc++
		}
		var logs []string
		for _, p := range append(callerProcs, agentProcs...) {
			logs = append(logs, filepath.Join(dir, p.name+".log"))
		}
		if err := joinLogs(logs, &step, phones); err != nil {
			return err
		}
		left, err := drain(t.asts, 60*time.Second)
		step.Left = left
		res.Steps = append(res.Steps, step)
		logf("%s: %.0f calls/s done in %.0fs: %s (sipp: %v)", o.system, rate, elapsed.Seconds(), verdictOf(step, res.PromptMS), runErr)
		if err != nil {
			return err
		}
	}

	if t.login {
		for _, l := range t.ctlLogs {
			n, err := countCutOff(l, res.Started)
			if err != nil {
				return err
			}
			res.CutOff += n
		}
	}
	res.CtlPeakRSS = sumKB(procs.ctl, "VmHWM")
	res.AstPeakRSS = sumKB(procs.ast, "VmHWM")
	printResult(os.Stdout, res)
	f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(res)
}

// countCutOff counts the controller's "call cut off" callbacks logged since.
func countCutOff(path string, since time.Time) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Time    time.Time `json:"time"`
			Message string    `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && !line.Time.Before(since) &&
			strings.HasPrefix(line.Message, "call cut off by a controller restart") {
			n++
		}
	}
	return n, sc.Err()
}

// wavMS is the length of a PCM WAV file in milliseconds (0 if unreadable).
func wavMS(path string) float64 {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) < 44 || string(raw[:4]) != "RIFF" {
		return 0
	}
	var byteRate, dataLen uint32
	for off := 12; off+8 <= len(raw); {
		id, size := string(raw[off:off+4]), le32(raw[off+4:])
		switch id {
		case "fmt ":
			byteRate = le32(raw[off+16:])
		case "data":
			dataLen = size
		}
		off += 8 + int(size) + int(size%2)
	}
	if byteRate == 0 {
		return 0
	}
	return float64(dataLen) / float64(byteRate) * 1000
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// --------------------------------------------------------------------- misc

func loadEnv(path string) (func(string) string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lookup, err := config.ReadEnvFile(f, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func(k string) string { v, _ := lookup(k); return v }, nil
}

// parseAgents reads HOTLINE_SIP_AGENTS into [id, password] pairs.
func parseAgents(s string) ([][2]string, error) {
	var out [][2]string
	for _, item := range strings.Split(s, ",") {
		id, pw, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok || id == "" || pw == "" {
			return nil, fmt.Errorf("HOTLINE_SIP_AGENTS: %q is not id:password", item)
		}
		out = append(out, [2]string{id, pw})
	}
	if len(out) == 0 {
		return nil, errors.New("HOTLINE_SIP_AGENTS is empty")
	}
	return out, nil
}

type apiClient struct{ base, token string }

func (c apiClient) post(path string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "sipload: "+format+"\n", a...)
}

// percentile of xs (nearest rank); NaN when empty.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}
