//go:build e2ecluster

package cluster

import (
	"testing"
	"time"
)

// channelOf finds the channel of the caller phone on any node: the node and
// the channel id, or nil.
func (c *cluster) channelOf(t *testing.T, phone string) (*node, string) {
	t.Helper()
	for _, n := range c.nodes() {
		var chans []struct {
			ID     string `json:"id"`
			Caller struct {
				Number string `json:"number"`
			} `json:"caller"`
		}
		c.ari(t, n, "/channels", &chans)
		for _, ch := range chans {
			if ch.Caller.Number == phone {
				return n, ch.ID
			}
		}
	}
	return nil, ""
}

// A caller waiting for an agent is gone without a BYE the node ever sees
// (their phone crashed, or the BYE was lost on the way): sipp ends the call
// on its side and exits. No channel may outlive its caller: the edge's
// keep-alive (HOTLINE_KAMAILIO_KEEPALIVE_S, 30 s) goes unanswered and
// Kamailio hangs the node's channel up, well before the caller's 10
// minutes in the queue would end it. Takes about 45 s.
func TestVanishedCallerLeavesNoChannel(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	c.logoutAll(t, c.A) // nobody is ready: the caller waits in the queue
	phone := uniquePhone(700)
	c.quietCallbacks(t, phone)
	s := caller(t, c.Edge, phone, pause(1500*time.Millisecond), press("0"), pause(2*time.Second))
	var n *node
	var id string
	eventually(t, 15*time.Second, "the caller's channel on a node", func() bool {
		n, id = c.channelOf(t, phone)
		return n != nil
	})
	s.mustSucceed(t, 20*time.Second) // the phone is gone; no BYE was sent
	gone := time.Now()
	took := eventually(t, 60*time.Second, "node "+n.Name+" to hang up channel "+id+" of the vanished caller", func() bool {
		return c.ari(t, n, "/channels/"+id, nil) == 404
	})
	t.Logf("node %s hung up the vanished caller's channel %s after %s", n.Name, id, took.Round(time.Second))
	if time.Since(gone) < 20*time.Second {
		t.Fatalf("the channel went %s after the caller: something other than the keep-alive ended it (the queue?), so this proves nothing",
			time.Since(gone).Round(time.Second))
	}
}
