// Command sipload is the load benchmark of bench/load.sh: sipp callers dial
// the hotline, press 0 in the menu and wait for sipp agents; the same load
// runs against the controller (95598) and against a plain dialplan with
// app_queue on the same Asterisk (95599). It prints figures, not a verdict.
//
//	sipload run -system hotline|app_queue ...   measure one system, append to -out
//	sipload report -in results.jsonl            compare the last run of each system
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
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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
	default:
		err = fmt.Errorf("unknown command %q (run|report)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

// Step is one call rate held for a while, with what it cost.
type Step struct {
	Rate      float64 `json:"rate"`
	Calls     int     `json:"calls"`
	Failed    int     `json:"failed"`    // callers who never got the hang-up after the talk
	SippOK    bool    `json:"sipp_ok"`   // sipp counted no failed call
	Connected int     `json:"connected"` // callers an agent answered
	Seconds   float64 `json:"seconds"`   // wall time from the first INVITE to the last call's end

	CtlCPU   float64 `json:"controller_cpu_s"`
	AstCPU   float64 `json:"asterisk_cpu_s"`
	SippCPU  float64 `json:"sipp_cpu_s"`
	HostBusy float64 `json:"host_busy"` // share of both cores busy (all processes)
	RedisCmd int64   `json:"redis_commands"`

	AnswerMS []float64 `json:"answer_ms"` // INVITE sent -> 200 OK received, per call
	RingMS   []float64 `json:"ring_ms"`   // key sent -> INVITE at the agent, per connected call
}

// OK: every caller completed and was connected to an agent.
func (s Step) OK() bool { return s.Calls > 0 && s.SippOK && s.Failed == 0 && s.Connected == s.Calls }

// Result is one run of one system.
type Result struct {
	System     string    `json:"system"`
	Started    time.Time `json:"started"`
	Agents     int       `json:"agents"`
	TalkMS     int       `json:"talk_ms"`
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
	envFile, runDir, system, out, sounds    string
	rates                                   []float64
	step, talk, keyAfter, answerAfter, idle time.Duration
	callerPort, agentPort                   int
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o opts
	var rates string
	fs.StringVar(&o.envFile, "env", "bench/hotline.env", "env file of the bench stack")
	fs.StringVar(&o.runDir, "run-dir", ".run/bench", "run directory of the bench stack")
	fs.StringVar(&o.system, "system", "hotline", "hotline (the controller, 95598) or app_queue (dialplan + app_queue, 95599)")
	fs.StringVar(&o.out, "out", ".run/bench/results.jsonl", "append the result here")
	fs.StringVar(&o.sounds, "sounds", "", "Asterisk's sounds/hotline directory (for the transfer prompt's length)")
	fs.StringVar(&rates, "rates", "2,4,8,16", "call rates (calls per second), one step each, rising")
	fs.DurationVar(&o.step, "step", 20*time.Second, "how long each rate is held")
	fs.DurationVar(&o.idle, "idle", 10*time.Second, "idle time measured before the first call")
	fs.DurationVar(&o.talk, "talk", 3*time.Second, "how long an agent talks before hanging up")
	fs.DurationVar(&o.keyAfter, "key-after", 1500*time.Millisecond, "caller presses 0 this long after the answer")
	fs.DurationVar(&o.answerAfter, "answer-after", 100*time.Millisecond, "agents answer this long after ringing")
	fs.IntVar(&o.callerPort, "caller-port", 25064, "SIP port of the sipp callers (media: +100)")
	fs.IntVar(&o.agentPort, "agent-port", 25070, "SIP port of the sipp agents (media: +200)")
	_ = fs.Parse(args)
	for _, r := range strings.Split(rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("-rates: %q is not a positive number", r)
		}
		o.rates = append(o.rates, v)
	}
	service := map[string]string{"hotline": "95598", "app_queue": "95599"}[o.system]
	if service == "" {
		return fmt.Errorf("-system %q: want hotline or app_queue", o.system)
	}
	env, err := loadEnv(o.envFile)
	if err != nil {
		return err
	}
	agents, err := parseAgents(env("HOTLINE_SIP_AGENTS"))
	if err != nil {
		return err
	}
	sipAddr := "127.0.0.1:" + env("HOTLINE_SIP_PORT")
	ctlPID, err := readPID(filepath.Join(o.runDir, "hotline.pid"))
	if err != nil {
		return fmt.Errorf("controller: %w (is the bench stack up?)", err)
	}
	astPID, err := readPID(filepath.Join(o.runDir, "asterisk.pid"))
	if err != nil {
		return fmt.Errorf("asterisk: %w", err)
	}
	redisAddr := env("HOTLINE_REDIS_ADDR")

	res := Result{System: o.system, Started: time.Now().UTC(), Agents: len(agents), TalkMS: int(o.talk.Milliseconds())}
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
	// app_queue rings its static members), registered, answering.
	api := apiClient{base: "http://" + env("HOTLINE_HTTP_ADDR"), token: env("HOTLINE_API_TOKEN")}
	for _, a := range agents {
		_, _ = api.post("/api/v1/agents/" + a[0] + "/logout")
		if o.system == "hotline" {
			if code, err := api.post("/api/v1/agents/" + a[0] + "/login"); err != nil || code != 200 {
				return fmt.Errorf("log in agent %s: HTTP %d %v", a[0], code, err)
			}
		}
	}
	for _, a := range agents {
		reg, err := startSipp(dir, "register", registerXML, scenario.Data{ID: a[0], Password: a[1]}, []string{"-m", "1",
			"-p", strconv.Itoa(o.agentPort), "-mp", strconv.Itoa(o.agentPort + 200), "-timeout", "10s", sipAddr})
		if err != nil {
			return err
		}
		if err := reg.wait(15 * time.Second); err != nil {
			return fmt.Errorf("register agent %s: %w (see %s)", a[0], err, dir)
		}
	}
	agentSipp, err := startSipp(dir, "agent", agentXML, scenario.Data{AnswerAfterMS: int(o.answerAfter.Milliseconds()), TalkMS: int(o.talk.Milliseconds()), Stamp: true},
		[]string{"-p", strconv.Itoa(o.agentPort), "-mp", strconv.Itoa(o.agentPort + 200), "-rtp_echo", "-trace_logs", "-log_file", filepath.Join(dir, "agent.log")})
	if err != nil {
		return err
	}
	defer agentSipp.kill()
	time.Sleep(500 * time.Millisecond)

	// The idle cost, measured with the agents registered and no call.
	idle0, err := sample(ctlPID, astPID, redisAddr)
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(o.idle)
	idle1, err := sample(ctlPID, astPID, redisAddr)
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	res.IdleCtlCPU, res.IdleAstCPU = (idle1.ctl-idle0.ctl)/secs, (idle1.ast-idle0.ast)/secs
	res.IdleRedis = float64(idle1.redis-idle0.redis-1) / secs
	logf("%s: idle for %s: controller %.3f CPU s/s, Asterisk %.3f CPU s/s, Redis %.1f commands/s", o.system, o.idle, res.IdleCtlCPU, res.IdleAstCPU, res.IdleRedis)

	callerScenario := callerXML(o.keyAfter, time.Second)
	callerData := scenario.Data{Phone: "[field0]", Service: "[service]", ByeTimeoutMS: 90000, Stamp: true}
	stepIdx := map[string]int{} // caller number -> step
	sysDigit := map[string]int{"hotline": 1, "app_queue": 2}[o.system]
	for i, rate := range o.rates {
		n := int(math.Round(rate * o.step.Seconds()))
		var phones strings.Builder
		phones.WriteString("SEQUENTIAL\n")
		for k := 0; k < n; k++ {
			// 11 digits, unique per system, step and call: 13 S II KKKKKK.
			p := fmt.Sprintf("13%d%02d%06d", sysDigit, i, k)
			stepIdx[p] = i
			fmt.Fprintf(&phones, "%s\n", p)
		}
		callersCSV := filepath.Join(dir, fmt.Sprintf("callers-%d.csv", i))
		if err := os.WriteFile(callersCSV, []byte(phones.String()), 0o644); err != nil {
			return err
		}
		before, err := sample(ctlPID, astPID, redisAddr)
		if err != nil {
			return err
		}
		sippBefore := cpuOf(agentSipp.cmd.Process.Pid)
		logf("%s: %.0f calls/s for %s (%d calls)", o.system, rate, o.step, n)
		t0 := time.Now()
		callers, err := startSipp(dir, fmt.Sprintf("caller-%d", i), callerScenario, callerData, []string{
			"-inf", callersCSV, "-s", service, "-r", strconv.FormatFloat(rate, 'f', -1, 64), "-rp", "1000",
			"-m", strconv.Itoa(n), "-l", "5000", "-p", strconv.Itoa(o.callerPort), "-mp", strconv.Itoa(o.callerPort + 100),
			"-timeout", fmt.Sprintf("%ds", int(o.step.Seconds())+150), "-timeout_error",
			"-trace_logs", "-log_file", filepath.Join(dir, fmt.Sprintf("caller-%d.log", i)),
			"-trace_stat", "-stf", filepath.Join(dir, fmt.Sprintf("caller-%d.csv", i)), sipAddr})
		if err != nil {
			return err
		}
		callerPID := callers.cmd.Process.Pid
		var callerCPU float64
		done := make(chan error, 1)
		go func() { done <- callers.cmd.Wait() }()
		var runErr error
	wait:
		for {
			select {
			case runErr = <-done:
				break wait
			case <-time.After(200 * time.Millisecond):
				callerCPU = math.Max(callerCPU, cpuOf(callerPID)) // gone once reaped
			}
		}
		elapsed := time.Since(t0)
		after, err := sample(ctlPID, astPID, redisAddr)
		if err != nil {
			return err
		}
		res.Steps = append(res.Steps, Step{
			Rate: rate, Calls: n, SippOK: runErr == nil, Seconds: elapsed.Seconds(),
			CtlCPU: after.ctl - before.ctl, AstCPU: after.ast - before.ast,
			SippCPU:  callerCPU + cpuOf(agentSipp.cmd.Process.Pid) - sippBefore,
			HostBusy: busyShare(before, after), RedisCmd: after.redis - before.redis - 1, // minus our own INFO
		})
		logf("%s: %.0f calls/s done in %.0fs (sipp: %v)", o.system, rate, elapsed.Seconds(), runErr)
		if runErr != nil {
			break // no point pushing harder
		}
		time.Sleep(2 * time.Second)
	}
	agentSipp.stop(20 * time.Second)

	if o.system == "hotline" {
		if res.CutOff, err = countCutOff(filepath.Join(o.runDir, "hotline.log"), res.Started); err != nil {
			return err
		}
	}
	res.CtlPeakRSS = statusKB(ctlPID, "VmHWM")
	res.AstPeakRSS = statusKB(astPID, "VmHWM")
	if err := joinLogs(dir, &res, stepIdx); err != nil {
		return err
	}
	printResult(os.Stdout, res)
	f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(res)
}

// joinLogs matches each caller's log lines with the agent's by the caller's
// number: INVITE -> answer, key -> agent ringing, connected or not.
func joinLogs(dir string, res *Result, stepIdx map[string]int) error {
	type times map[string]float64 // event -> unix seconds
	calls := map[string]times{}
	read := func(path string) error {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) != 4 {
				continue
			}
			s, err1 := strconv.ParseFloat(fs[2], 64)
			us, err2 := strconv.ParseFloat(fs[3], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			t := calls[fs[1]]
			if t == nil {
				t = times{}
				calls[fs[1]] = t
			}
			if _, seen := t[fs[0]]; !seen { // the first ring counts
				t[fs[0]] = s + us/1e6
			}
		}
		return sc.Err()
	}
	for i := range res.Steps {
		if err := read(filepath.Join(dir, fmt.Sprintf("caller-%d.log", i))); err != nil {
			return err
		}
	}
	if err := read(filepath.Join(dir, "agent.log")); err != nil {
		return err
	}
	for phone, i := range stepIdx {
		if i >= len(res.Steps) {
			continue // a step never run
		}
		s, t := &res.Steps[i], calls[phone]
		if _, ok := t["talk"]; ok {
			s.Connected++
		}
		if _, ok := t["bye"]; !ok {
			s.Failed++
		}
		if inv, ok := t["inv"]; ok {
			if ans, ok := t["ans"]; ok {
				s.AnswerMS = append(s.AnswerMS, (ans-inv)*1000)
			}
		}
		if key, ok := t["key"]; ok {
			if ring, ok := t["ring"]; ok {
				s.RingMS = append(s.RingMS, (ring-key)*1000)
			}
		}
	}
	return nil
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

// ------------------------------------------------------------------ samples

type sampleT struct {
	ctl, ast   float64 // CPU seconds (user + system)
	redis      int64   // commands processed
	busy, idle float64 // host CPU ticks
}

func sample(ctlPID, astPID int, redisAddr string) (sampleT, error) {
	s := sampleT{ctl: cpuOf(ctlPID), ast: cpuOf(astPID)}
	host, port, _ := strings.Cut(redisAddr, ":")
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "INFO", "commandstats").Output()
	if err != nil {
		return s, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	s.redis = commandTotal(string(out))
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i == 3 || i == 4 { // idle, iowait
			s.idle += v
		} else if i < 8 { // not guest time, already in user
			s.busy += v
		}
	}
	return s, nil
}

func busyShare(a, b sampleT) float64 {
	busy, idle := b.busy-a.busy, b.idle-a.idle
	if busy+idle <= 0 {
		return 0
	}
	return busy / (busy + idle)
}

// commandTotal sums calls= over INFO commandstats.
func commandTotal(info string) int64 {
	var n int64
	for _, line := range strings.Split(info, "\n") {
		if !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		_, rest, _ := strings.Cut(line, "calls=")
		v, _, _ := strings.Cut(rest, ",")
		c, _ := strconv.ParseInt(v, 10, 64)
		n += c
	}
	return n
}

// cpuOf is a process's user + system CPU seconds (0 when it is gone).
func cpuOf(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	s = s[strings.LastIndexByte(s, ')')+2:] // the command name may hold spaces
	f := strings.Fields(s)                  // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (ut + st) / 100                 // USER_HZ is 100 on Linux
}

// statusKB reads a kB field of /proc/<pid>/status, e.g. VmHWM.
func statusKB(pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}

func readPID(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return 0, fmt.Errorf("pid %d from %s: %w", pid, path, err)
	}
	return pid, nil
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
