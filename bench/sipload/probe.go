package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
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

// asterisk runs CLI commands in the bench instance, as deploy/local/stack.sh
// rx does: chroot ROOT asterisk -C CONF -rx CMD.
type asterisk struct{ root, conf string }

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

// socketDrops sums the drops of the UDP sockets bound to port (the
// Asterisk SIP transport: a socket that lives the whole run), from
// /proc/net/udp and udp6.
func socketDrops(port int) int64 {
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

func watchTasks(a asterisk, every time.Duration) *taskWatch {
	w := &taskWatch{top: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	if out, err := a.rx("core show taskprocessors"); err == nil {
		w.start = taskDepths(out)
	}
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
			out, err := a.rx("core show taskprocessors")
			if err != nil {
				continue
			}
			w.mu.Lock()
			for name, d := range taskDepths(out) {
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
