//go:build e2ecluster

package cluster

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/callbacks"
	scenario "github.com/hotline95598/hotline/internal/sipp"
	"github.com/hotline95598/hotline/policy"
)

type callbackView struct {
	ID, Status, Kind, Phone string
	CallID                  string    `json:"call_id"`
	QueuedAt                time.Time `json:"queued_at"`
	CreatedAt               time.Time `json:"created_at"`
	History                 []struct {
		N       int
		Outcome string
	}
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

const (
	generalOffered = `hotline_queue_calls_offered_total{queue="general"}`
	vholdAnswered  = `hotline_callbacks_placed_total{kind="virtual_hold",outcome="answered"}`
	vholdDialled   = `hotline_callbacks_placed_total{kind="virtual_hold",outcome="dialled"}`
)

// customersAnswering is the carrier side of n callbacks: each call must
// show 95598; it is answered and hung up 3 s later.
func (c *cluster) customersAnswering(t *testing.T, n int) *sipp {
	t.Helper()
	xml, err := scenario.Render(scenario.UASHead(scenario.CaptureDialog+scenario.Require95598)+scenario.UASAnswer+scenario.UASHangUp+scenario.Tail,
		scenario.Data{AnswerAfterMS: 300, TalkMS: 3000})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(strings.Replace(c.Carrier, "sip:", "sip://", 1))
	if err != nil || u.Port() == "" {
		t.Fatalf("HOTLINE_CARRIER_CONTACT %q: want sip:host:port", c.Carrier)
	}
	port, _ := strconv.Atoi(u.Port())
	_, media := ports()
	return runOn(t, "customers", xml, u.Hostname(), "", port, media, "-m", strconv.Itoa(n))
}

// b's Asterisk is up again and b's controller has made a full recovery
// round with it (its liveness mark is renewed at the start of each round,
// before the sweep): two marks after it was seen healthy.
func (c *cluster) recoveredOnce(t *testing.T, healthyAt time.Time) {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: c.Master, SentinelAddrs: c.Sentinels, Password: c.Password})
	defer rdb.Close()
	mark := func() int64 {
		v, _ := rdb.Get(context.Background(), "hotline:replica:"+c.BReplica).Int64()
		return v
	}
	var first int64
	eventually(t, 20*time.Second, "node b's first recovery round with its Asterisk up", func() bool {
		first = mark()
		return first > healthyAt.UnixMilli()
	})
	eventually(t, 20*time.Second, "node b's next recovery round (the first one done)", func() bool { return mark() > first })
}

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

	// The customers' phones behind the carrier answer the callbacks.
	customers := c.customersAnswering(t, len(on["b"]))
	dialled := map[string]float64{"a": metric(t, c.A, vholdDialled), "b": metric(t, c.B, vholdDialled)}
	answeredA := metric(t, c.A, vholdAnswered)

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

	// The callbacks are placed through node A, the healthy one, and the
	// customers answer: one attempt each, answered; node B, whose Asterisk
	// is down, dials none of them.
	for _, p := range on["b"] {
		var cbs []callbackView
		for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if cbs = c.callbacksOf(t, c.A, p); len(cbs) == 1 && cbs[0].Status == "completed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the callback of %s not answered within 45 s: %+v", p, cbs)
			}
		}
		if len(cbs[0].History) != 1 || cbs[0].History[0].Outcome != "answered" {
			t.Fatalf("callback of %s: attempts %+v, want one, answered", p, cbs[0].History)
		}
	}
	customers.mustSucceed(t, 30*time.Second)
	gotA, gotB := metric(t, c.A, vholdDialled)-dialled["a"], metric(t, c.B, vholdDialled)-dialled["b"]
	if int(gotA) != len(on["b"]) || gotB != 0 || metric(t, c.A, vholdAnswered)-answeredA != float64(len(on["b"])) {
		t.Fatalf("kept-place callbacks dialled by node a %v, node b %v; want all %d by a, answered", gotA, gotB, len(on["b"]))
	}
	t.Logf("their callbacks placed through node a and answered %.1f s after the kill", time.Since(killed).Seconds())
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
	c.recoveredOnce(t, time.Now())
	for _, p := range on["b"] {
		if cbs := c.callbacksOf(t, c.B, p); len(cbs) != 1 {
			t.Fatalf("callbacks of %s after node b came back: %+v, want the one kept-place callback", p, cbs)
		}
	}
}
