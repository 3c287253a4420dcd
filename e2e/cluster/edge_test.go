//go:build e2ecluster

package cluster

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultReport is a caller who reports a fault (menu key 1) and hangs up once
// the ticket number has been read out.
func faultReport(t *testing.T, c *cluster, phone string) *sipp {
	return caller(t, c.Edge, phone, pause(1500*time.Millisecond), press("1"), pause(2*time.Second), hangUp)
}

// callsOn reads every controller's count of calls taken.
func callsOn(t *testing.T, c *cluster) map[string]float64 {
	out := map[string]float64{}
	for _, n := range c.nodes() {
		out[n.Name] = metric(t, n, "hotline_calls_started_total")
	}
	return out
}

// Carrier calls arrive at Kamailio, which spreads them over both nodes;
// each node's controller takes its calls through the IVR (a fault report
// makes a ticket) and both see every ticket in the shared Redis.
func TestCarrierCallsLandOnBothNodes(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	before := callsOn(t, c)
	var calls []*sipp
	var phones []string
	for i := range 6 {
		p := uniquePhone(100 + i)
		phones = append(phones, p)
		calls = append(calls, faultReport(t, c, p))
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range calls {
		s.mustSucceed(t, 60*time.Second)
	}
	after := callsOn(t, c)
	got := map[string]float64{"a": after["a"] - before["a"], "b": after["b"] - before["b"]}
	t.Logf("calls taken: node a %v, node b %v", got["a"], got["b"])
	if got["a"] < 2 || got["b"] < 2 || got["a"]+got["b"] != 6 {
		t.Fatalf("6 calls spread as %v; want both nodes to take some (round robin: 3 and 3)", got)
	}
	for _, p := range phones {
		for _, n := range c.nodes() {
			if ts := c.tickets(t, n, p); len(ts) != 1 || ts[0].Type != "fault" {
				t.Fatalf("tickets of %s on node %s: %+v", p, n.Name, ts)
			}
		}
	}
}

// Only the carrier may call in: a call from another address is refused at
// the edge (403) and never reaches a node.
func TestEdgeRefusesStrangers(t *testing.T) {
	c := loadCluster(t)
	before := callsOn(t, c)
	s := callFrom(t, "127.0.0.5", c.Edge, uniquePhone(200), refusedHead(403))
	s.mustSucceed(t, 30*time.Second)
	if after := callsOn(t, c); after["a"] != before["a"] || after["b"] != before["b"] {
		t.Fatalf("a refused call reached a controller: %v -> %v", before, after)
	}
}

// Node B's Asterisk is killed. Kamailio's OPTIONS probes take B out of the
// set within a few seconds (no call is needed for it to notice); from then
// on every call goes to A without a failed INVITE. When B is back, the
// probes put it back and it gets calls again. (A call that reaches a dead
// node before the probes noticed is passed to the next node after the
// INVITE timeout: kamailio/integration_test.go.)
func TestNodeKilledAndBack(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	kam := mark(c.Run + "/kamailio.log")
	pid := pidOf(t, c.B.Run+"/asterisk.pid")
	restored := false
	t.Cleanup(func() {
		if !restored {
			c.clusterCmd(t, "asterisk-up", "b")
		}
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill node b's asterisk (pid %d): %v", pid, err)
	}
	window := eventually(t, 15*time.Second, "Kamailio to take node b out", func() bool { return c.nodeState(t, c.B) == "inactive" })
	t.Logf("node b out of the set %.1f s after its Asterisk was killed (probe window)", window.Seconds())
	if log := kam.since(t); !strings.Contains(log, "node down (OPTIONS") {
		t.Fatalf("node b was not taken out by the OPTIONS probes:\n%s", tail(log, 3000))
	}

	// After the window: every call to A, none tried on B first.
	quiet := mark(c.Run + "/kamailio.log")
	before := callsOn(t, c)
	var calls []*sipp
	for i := range 4 {
		calls = append(calls, faultReport(t, c, uniquePhone(310+i)))
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range calls {
		s.mustSucceed(t, 60*time.Second)
	}
	if got := callsOn(t, c)["a"] - before["a"]; got != 4 {
		t.Fatalf("node a took %v of the 4 calls placed with node b out", got)
	}
	if log := quiet.since(t); strings.Contains(log, "did not answer") {
		t.Fatalf("an INVITE was still sent to the dead node after the probe window:\n%s", tail(log, 3000))
	}
	t.Logf("edge log:\n%s", tail(grepLines(kam.since(t), "node "), 1500))

	// B returns: the probes put it back, its controller reconnects, and it
	// takes calls again.
	c.clusterCmd(t, "asterisk-up", "b")
	restored = true
	back := time.Now()
	eventually(t, 30*time.Second, "Kamailio to take node b back", func() bool { return c.nodeState(t, c.B) == "active" })
	c.healthy(t, 60*time.Second)
	t.Logf("node b active and its controller healthy %.1f s after its Asterisk restarted", time.Since(back).Seconds())
	before = callsOn(t, c)
	calls = nil
	for i := range 4 {
		calls = append(calls, faultReport(t, c, uniquePhone(320+i)))
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range calls {
		s.mustSucceed(t, 60*time.Second)
	}
	if got := callsOn(t, c)["b"] - before["b"]; got < 1 {
		t.Fatalf("node b took no call after it came back")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
