//go:build e2ecluster

package cluster

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/policy"
)

type callbackView struct {
	ID, Status, Kind, Phone string
	CallID                  string    `json:"call_id"`
	QueuedAt                time.Time `json:"queued_at"`
	CreatedAt               time.Time `json:"created_at"`
}

func (c *cluster) callbacksOf(t *testing.T, n *node, phone string) []callbackView {
	t.Helper()
	var out struct{ Callbacks []callbackView }
	if code := c.api(t, n, "GET", "/api/v1/callbacks?phone="+phone, &out); code != 200 {
		t.Fatalf("callbacks of %s on node %s: %d", phone, n.Name, code)
	}
	return out.Callbacks
}

// quietCallbacks cancels, when the test ends, the callbacks these numbers
// are still owed, so none of them takes an agent of a later test.
func (c *cluster) quietCallbacks(t *testing.T, phones ...string) {
	t.Cleanup(func() {
		rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: c.Master, SentinelAddrs: c.Sentinels, Password: c.Password})
		defer rdb.Close()
		st := callbacks.NewStore(rdb, "hotline:", policy.CallbackPolicy{}, nil)
		for _, p := range phones {
			if _, err := st.CancelServed(context.Background(), p, callbacks.KindAbandoned, callbacks.KindCutOff,
				callbacks.KindVirtualHold, callbacks.KindScheduled); err != nil {
				t.Errorf("cancel callbacks of %s: %v", p, err)
			}
		}
	})
}

const generalOffered = `hotline_queue_calls_offered_total{queue="general"}`

// Callers wait for an agent on both nodes (nobody is ready). Node B's
// Asterisk is killed and stays down: its callers' calls are gone with it.
// Node B's controller gives them up once the link has been down for
// HOTLINE_SWITCH_LOST_AFTER, and each gets a virtual-hold callback keeping
// the place they joined the queue at; node A's callers keep waiting,
// untouched. Nobody is promised twice when B comes back.
func TestWaitingCallersOfKilledNodeKeepTheirPlace(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	c.logoutAll(t, c.A)
	offered := func() float64 { return metric(t, c.A, generalOffered) + metric(t, c.B, generalOffered) }
	offeredBefore := offered()

	// Four callers press 0 and wait; each is placed once the last one's
	// node is known, so we know which node holds whom.
	const stay = 45 * time.Second
	on := map[string][]string{}
	var onA []*sipp
	var phones []string
	for i := range 4 {
		before := callsOn(t, c)
		p := uniquePhone(500 + i)
		phones = append(phones, p)
		s := caller(t, c.Edge, p, pause(1500*time.Millisecond), press("0"), pause(stay), hangUp)
		var n *node
		eventually(t, 10*time.Second, "caller "+p+" to reach a controller", func() bool {
			after := callsOn(t, c)
			for _, x := range c.nodes() {
				if after[x.Name] > before[x.Name] {
					n = x
					return true
				}
			}
			return false
		})
		on[n.Name] = append(on[n.Name], p)
		if n == c.A {
			onA = append(onA, s)
		}
	}
	c.quietCallbacks(t, phones...)
	if len(on["a"]) == 0 || len(on["b"]) == 0 {
		t.Fatalf("callers per node %v: want some on each", on)
	}
	eventually(t, 15*time.Second, "all four callers waiting in general", func() bool { return offered()-offeredBefore == 4 })
	time.Sleep(time.Second) // in the line in Redis, not just offered

	pid := pidOf(t, c.B.Run+"/asterisk.pid")
	restored := false
	t.Cleanup(func() {
		if !restored {
			c.clusterCmd(t, "asterisk-up", "b")
		}
	})
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill node b's asterisk (pid %d): %v", pid, err)
	}
	for _, p := range on["b"] {
		var cb callbackView
		eventually(t, 30*time.Second, "a kept-place callback for "+p, func() bool {
			for _, x := range c.callbacksOf(t, c.A, p) {
				if x.Kind == "virtual_hold" {
					cb = x
					return true
				}
			}
			return false
		})
		if cb.QueuedAt.IsZero() || !cb.QueuedAt.Before(killed) {
			t.Fatalf("callback %+v of %s: the place kept must be when the caller joined, before the kill", cb, p)
		}
	}
	t.Logf("node b's %d waiting callers promised kept-place callbacks %.1f s after its Asterisk was killed", len(on["b"]), time.Since(killed).Seconds())
	// Node A's callers are still waiting (the hotline never hangs them up:
	// each ends its own call after a while) and were promised nothing.
	for _, p := range on["a"] {
		if cbs := c.callbacksOf(t, c.A, p); len(cbs) != 0 {
			t.Fatalf("node a's caller %s was promised %+v while still waiting", p, cbs)
		}
	}
	for _, s := range onA {
		s.mustSucceed(t, stay+30*time.Second)
	}

	// Node B returns: its controller reconnects and promises nobody twice.
	c.clusterCmd(t, "asterisk-up", "b")
	restored = true
	c.healthy(t, 60*time.Second)
	time.Sleep(6 * time.Second) // one recovery sweep after the reconnect
	for _, p := range on["b"] {
		if cbs := c.callbacksOf(t, c.B, p); len(cbs) != 1 {
			t.Fatalf("callbacks of %s after node b came back: %+v, want the one kept-place callback", p, cbs)
		}
	}
}
