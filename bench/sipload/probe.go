package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// What a step used and where it queued: the figures that explain the edge
// of a system rather than guess it.

// udpErrors reads InErrors and RcvbufErrors of /proc/net/snmp (the whole
// host: other developers' traffic counts too).
func udpErrors() (inErr, rcvbuf int64) {
	raw, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, 0
	}
	var head []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i := 1; i < len(f) && i < len(head); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			switch head[i] {
			case "InErrors":
				inErr = v
			case "RcvbufErrors":
				rcvbuf = v
			}
		}
		break
	}
	return inErr, rcvbuf
}

// asterisk runs CLI commands in a bench instance, as deploy/local/stack.sh
// rx does: chroot ROOT asterisk -C CONF -rx CMD. label names the node of a
// cluster ("" for the single node).
type asterisk struct{ root, conf, label string }

func (a asterisk) rx(cmd string) (string, error) {
	out, err := exec.Command("chroot", a.root, "/usr/sbin/asterisk", "-C", a.conf, "-rx", cmd).Output()
	if err != nil {
		return "", fmt.Errorf("asterisk -rx %q: %w", cmd, err)
	}
	return string(out), nil
}

// taskDepths parses `core show taskprocessors` (Asterisk 22: Processor,
// Processed, In Queue, Max Depth, then water marks and times): name ->
// (in queue, max depth).
func taskDepths(out string) map[string][2]int {
	m := map[string][2]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		inQ, err1 := strconv.Atoi(f[2])
		maxD, err2 := strconv.Atoi(f[3])
		if _, err0 := strconv.Atoi(f[1]); err0 == nil && err1 == nil && err2 == nil {
			m[f[0]] = [2]int{inQ, maxD}
		}
	}
	return m
}

// socketDrops sums the drops of the UDP sockets bound to the ports (the
// SIP transports of Asterisk and Kamailio: sockets that live the whole
// run), from /proc/net/udp and udp6.
func socketDrops(ports ...int) int64 {
	var n int64
	for _, port := range ports {
		n += portDrops(port)
	}
	return n
}

func portDrops(port int) int64 {
	var n int64
	hexPort := fmt.Sprintf(":%04X", port)
	for _, file := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) >= 13 && strings.HasSuffix(f[1], hexPort) {
				v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
				n += v
			}
		}
	}
	return n
}

// activeChannels parses `core show channels count`.
func activeChannels(out string) int {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[1] == "active" && f[2] == "channels" {
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	return -1
}

// taskWatch samples Asterisk's taskprocessor queues while a step runs and
// keeps the deepest: the largest queue seen, or a max depth the step raised.
type taskWatch struct {
	mu    sync.Mutex
	start map[string][2]int
	top   map[string]int
	stop  chan struct{}
	done  chan struct{}
}

func watchTasks(asts []asterisk, every time.Duration) *taskWatch {
	w := &taskWatch{start: map[string][2]int{}, top: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	depths := func() map[string][2]int {
		m := map[string][2]int{}
		for _, a := range asts {
			out, err := a.rx("core show taskprocessors")
			if err != nil {
				continue
			}
			for name, d := range taskDepths(out) {
				if a.label != "" {
					name = a.label + ":" + name
				}
				m[name] = d
			}
		}
		return m
	}
	w.start = depths()
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			now := depths()
			w.mu.Lock()
			for name, d := range now {
				deep := d[0]
				if s, ok := w.start[name]; ok && d[1] > s[1] {
					deep = max(deep, d[1]) // a new high within the step
				}
				w.top[name] = max(w.top[name], deep)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// end stops the sampling and returns the deepest queue.
func (w *taskWatch) end() (string, int) {
	close(w.stop)
	<-w.done
	name, depth := "", 0
	for n, d := range w.top {
		if d > depth || d == depth && n < name {
			name, depth = n, d
		}
	}
	return name, depth
}

// ------------------------------------------------------------------ samples

type sampleT struct {
	ctl, ast, redisCPU, kam float64 // CPU seconds (user + system)
	redis                   int64   // commands processed (at the master)
	busy, idle              float64 // host CPU ticks
}

// procSet is the processes of the system under test: one or more
// controllers and Asterisks, every Redis process (servers and sentinels),
// and Kamailio (its main process; the workers it forked are found at each
// sample).
type procSet struct {
	ctl, ast, redis []int
	kamailio        int
	redisAddr       string // the master: its commands are the system's
}

func (p procSet) sample() (sampleT, error) {
	s := sampleT{ctl: cpuSum(p.ctl), ast: cpuSum(p.ast), redisCPU: cpuSum(p.redis)}
	if p.kamailio > 0 {
		s.kam = cpuSum(append([]int{p.kamailio}, childrenOf(p.kamailio)...))
	}
	out, err := redisCLI(p.redisAddr, "INFO", "commandstats")
	if err != nil {
		return s, err
	}
	s.redis = commandTotal(out)
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

func cpuSum(pids []int) float64 {
	var t float64
	for _, pid := range pids {
		t += cpuOf(pid)
	}
	return t
}

// childrenOf lists the processes whose parent is pid (Kamailio's workers).
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		if parentOf(string(raw)) == pid {
			out = append(out, child)
		}
	}
	return out
}

// parentOf is the parent pid in a /proc/PID/stat line (-1 if unreadable).
func parentOf(stat string) int {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(stat[i+1:]) // state, ppid, ...
	if len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return ppid
}

func redisCLI(addr string, args ...string) (string, error) {
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("redis %v: %w", args, err)
	}
	return string(out), nil
}

// redisProcess is the pid of the Redis server at addr (INFO server).
func redisProcess(addr string) (int, error) {
	out, err := redisCLI(addr, "INFO", "server")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("redis at %s: no process_id in INFO server", addr)
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

// sumKB sums a kB field of /proc/<pid>/status over processes.
func sumKB(pids []int, field string) int64 {
	var n int64
	for _, pid := range pids {
		n += statusKB(pid, field)
	}
	return n
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

// drain waits until Asterisk has no channel left (callers of a bad step may
// still wait), hanging up what remains after within, so that one step's
// leftovers do not weigh on the next. It returns the channels each node
// still had then, by node label: channels that outlived their callers
// (every sipp caller of the step has ended), which no step may leave.
func drain(asts []asterisk, within time.Duration) (map[string]int, error) {
	deadline := time.Now().Add(within)
	var left map[string]int
	for {
		n, err := channels(asts)
		if err != nil {
			return left, err
		}
		if n == 0 {
			time.Sleep(time.Second) // the controller's and Redis's clean-up after the last hang-up
			return left, nil
		}
		if time.Now().After(deadline) {
			if left != nil {
				return left, fmt.Errorf("asterisk still has %d channels after hanging up all", n)
			}
			left = map[string]int{}
			for _, a := range asts {
				out, err := a.rx("core show channels count")
				if err != nil {
					return left, err
				}
				left[nodeName(a)] = max(0, activeChannels(out))
			}
			logf("drain: %d channels left %s after the step's last caller ended (%s); hanging them up", n, within, leftText(left))
			for _, a := range asts {
				_, _ = a.rx("channel request hangup all")
			}
			deadline = time.Now().Add(15 * time.Second)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// nodeName names a node in figures: its label, "node" for a lone one.
func nodeName(a asterisk) string {
	if a.label == "" {
		return "node"
	}
	return a.label
}

// leftText is channels left per node, e.g. "a 30, b 34".
func leftText(left map[string]int) string {
	names := make([]string, 0, len(left))
	for k := range left {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %d", k, left[k]))
	}
	return strings.Join(parts, ", ")
}

// channels counts the active channels of every Asterisk.
func channels(asts []asterisk) (int, error) {
	total := 0
	for _, a := range asts {
		out, err := a.rx("core show channels count")
		if err != nil {
			return 0, err
		}
		total += max(0, activeChannels(out))
	}
	return total, nil
}

// joinLogs matches the step's caller log lines with the agents' by the
// caller's number: INVITE -> answer, key -> agent ringing, connected or not.
func joinLogs(paths []string, s *Step, phones map[string]bool) error {
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
			sec, err1 := strconv.ParseFloat(fs[2], 64)
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
				t[fs[0]] = sec + us/1e6
			}
		}
		return sc.Err()
	}
	for _, p := range paths {
		if err := read(p); err != nil {
			return err
		}
	}
	for phone := range phones {
		t := calls[phone]
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

// redisMemory is Redis's used_memory in bytes (0 if unknown).
func redisMemory(addr string) int64 {
	out, err := redisCLI(addr, "INFO", "memory")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
