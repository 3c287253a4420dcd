package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A target is one system under test as the load sees it: where the phones
// send, which processes its cost is read from, which Asterisks to ask.
//
//	hotline    one node: the controller (95598) on the bench stack (bench/hotline.env)
//	app_queue  the same Asterisk's plain dialplan + app_queue (95599)
//	cluster    the two-node cluster (bench/cluster): callers and agents talk to
//	           Kamailio, which spreads calls over the nodes; the controllers
//	           (95598) share one Redis with Sentinel
type target struct {
	system   string
	service  string // the number callers dial
	digit    int    // in the callers' numbers, so each system's calls are told apart
	sipAddr  string // where callers send INVITEs and agents REGISTER
	sipPorts []int  // UDP ports whose socket drops count: Asterisk's, Kamailio's
	api      apiClient
	agents   [][2]string
	procs    procSet
	asts     []asterisk
	ctlLogs  []string // the controllers' logs (cut-off callbacks)
	login    bool     // agents log in at the controller (app_queue rings static members)
	routed   bool     // an edge records its route: in-dialog requests follow it
	edgeLog  string   // Kamailio's log (a cluster's)
}

// systems the load tool measures, with the number dialled.
var systems = map[string]struct {
	service string
	digit   int
}{"hotline": {"95598", 1}, "app_queue": {"95599", 2}, "cluster": {"95598", 3}}

func loadTarget(o opts) (target, error) {
	sys, ok := systems[o.system]
	if !ok {
		return target{}, fmt.Errorf("-system %q: want hotline, app_queue or cluster", o.system)
	}
	t := target{system: o.system, service: sys.service, digit: sys.digit, login: o.system != "app_queue"}
	runDir, err := filepath.Abs(o.runDir)
	if err != nil {
		return t, err
	}
	if o.system == "cluster" {
		return t, t.loadCluster(o, runDir)
	}
	env, err := loadEnv(o.envFile)
	if err != nil {
		return t, err
	}
	if err := t.common(env); err != nil {
		return t, err
	}
	port, err := strconv.Atoi(env("HOTLINE_SIP_PORT"))
	if err != nil {
		return t, fmt.Errorf("HOTLINE_SIP_PORT: %w", err)
	}
	t.sipAddr, t.sipPorts = "127.0.0.1:"+env("HOTLINE_SIP_PORT"), []int{port}
	if err := t.addNode(o, runDir, ""); err != nil {
		return t, err
	}
	return t, t.addRedis([]string{env("HOTLINE_REDIS_ADDR")}, nil)
}

// common reads what every node of a system shares: agents, API, token.
func (t *target) common(env func(string) string) error {
	var err error
	if t.agents, err = parseAgents(env("HOTLINE_SIP_AGENTS")); err != nil {
		return err
	}
	t.api = apiClient{base: "http://" + env("HOTLINE_HTTP_ADDR"), token: env("HOTLINE_API_TOKEN")}
	return nil
}

// addNode adds one node's controller and Asterisk, run from dir (the
// stack's HOTLINE_RUN_DIR; its base name is the Asterisk instance's).
func (t *target) addNode(o opts, dir, label string) error {
	ctl, err := readPID(filepath.Join(dir, "hotline.pid"))
	if err != nil {
		return fmt.Errorf("controller: %w (is the bench stack up?)", err)
	}
	ast, err := readPID(filepath.Join(dir, "asterisk.pid"))
	if err != nil {
		return fmt.Errorf("asterisk: %w", err)
	}
	a := asterisk{root: o.rootfs, conf: "/var/lib/hotline/" + filepath.Base(dir) + "/etc/asterisk.conf", label: label}
	if _, err := a.rx("core show version"); err != nil {
		return err
	}
	t.procs.ctl = append(t.procs.ctl, ctl)
	t.procs.ast = append(t.procs.ast, ast)
	t.asts = append(t.asts, a)
	t.ctlLogs = append(t.ctlLogs, filepath.Join(dir, "hotline.log"))
	return nil
}

// addRedis adds the Redis servers (the first is the master, whose commands
// are counted) and the sentinels' pids.
func (t *target) addRedis(servers []string, sentinels []int) error {
	for _, addr := range servers {
		pid, err := redisProcess(addr)
		if err != nil {
			return err
		}
		t.procs.redis = append(t.procs.redis, pid)
	}
	t.procs.redis = append(t.procs.redis, sentinels...)
	t.procs.redisAddr = servers[0]
	return nil
}

// loadCluster reads the cluster deploy/local/cluster.sh runs from runDir:
// its merged node files (node-<n>.env), each node's run directory
// (<run name>-<n>), Kamailio's pid and the sentinels'.
func (t *target) loadCluster(o opts, runDir string) error {
	files, err := filepath.Glob(filepath.Join(runDir, "node-*.env"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no node-*.env in %s (is the bench cluster up?)", runDir)
	}
	sort.Strings(files)
	var env func(string) string
	for i, f := range files {
		node := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "node-"), ".env")
		e, err := loadEnv(f)
		if err != nil {
			return err
		}
		if i == 0 {
			env = e
			if err := t.common(e); err != nil {
				return err
			}
		}
		port, err := strconv.Atoi(e("HOTLINE_SIP_PORT"))
		if err != nil {
			return fmt.Errorf("%s: HOTLINE_SIP_PORT: %w", f, err)
		}
		if !slices.Contains(t.sipPorts, port) {
			t.sipPorts = append(t.sipPorts, port)
		}
		if err := t.addNode(o, filepath.Join(runDir, filepath.Base(runDir)+"-"+node), node); err != nil {
			return fmt.Errorf("node %s: %w", node, err)
		}
	}
	edge := env("HOTLINE_SIP_EDGE")
	_, p, ok := strings.Cut(edge, ":")
	port, err := strconv.Atoi(p)
	if !ok || err != nil {
		return fmt.Errorf("HOTLINE_SIP_EDGE %q: want IP:PORT", edge)
	}
	t.sipAddr, t.routed = edge, true
	if !slices.Contains(t.sipPorts, port) {
		t.sipPorts = append(t.sipPorts, port)
	}
	t.edgeLog = filepath.Join(runDir, "kamailio.log")
	if t.procs.kamailio, err = readPID(filepath.Join(runDir, "kamailio.pid")); err != nil {
		return fmt.Errorf("kamailio: %w", err)
	}
	var sentinels []int
	pidFiles, _ := filepath.Glob(filepath.Join(runDir, "sentinel-*", "sentinel.pid"))
	for _, f := range pidFiles {
		pid, err := readPID(f)
		if err != nil {
			return fmt.Errorf("sentinel: %w", err)
		}
		sentinels = append(sentinels, pid)
	}
	servers := []string{env("HOTLINE_REDIS_ADDR")}
	for _, r := range strings.Split(env("HOTLINE_REDIS_REPLICAS"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			servers = append(servers, r)
		}
	}
	return t.addRedis(servers, sentinels)
}

// callerNumber is a caller's 11-digit number, unique per system, step and
// call: 13 S II KKKKKK.
func (t target) callerNumber(step, call int) string {
	return fmt.Sprintf("13%d%02d%06d", t.digit, step, call)
}

// nodeTimeoutMark is what deploy/kamailio/kamailio.cfg logs when a node
// gave no answer to an INVITE within HOTLINE_KAMAILIO_NODE_TIMEOUT_MS and
// the call went to the next node.
const nodeTimeoutMark = "did not answer; marking it inactive"

// logSize is a log's length now (0 when there is none), to read from later.
func logSize(path string) int64 {
	if path == "" {
		return 0
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// countSince counts the lines holding mark written to path after offset.
func countSince(path string, offset int64, mark string) int {
	if path == "" {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0
	}
	return countLines(f, mark)
}

func countLines(r io.Reader, mark string) int {
	n := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), mark) {
			n++
		}
	}
	return n
}
