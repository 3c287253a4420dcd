package hold

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/transfer"
)

// withHub wires a real transfer hub on the test's Redis into the holder,
// as the service does, and waits until it listens.
func withHub(t *testing.T, d *tdisp) *transfer.Hub {
	t.Helper()
	hub := transfer.NewHub(d.rdb, "t:", zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go hub.Run(ctx)
	waitFor(t, "hub subscribed", func() bool {
		return d.rdb.PubSubNumSub(ctx, "t:calls:transfer").Val()["t:calls:transfer"] > 0
	})
	d.SetTransfers(hub, nil)
	return hub
}

// serveFull is serve with the whole result.
func serveFull(d *tdisp, sess *ivr.Session, c queue.Caller) <-chan Result {
	out := make(chan Result, 1)
	go func() {
		r, _ := d.Serve(context.Background(), sess, c)
		out <- r
	}()
	return out
}

// popsOf returns an agent's screen pops.
func popsOf(t *testing.T, reg *agents.Registry, agent string) []agents.ScreenPop {
	t.Helper()
	evs, err := reg.Tail(context.Background(), agent, "0", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []agents.ScreenPop
	for _, e := range evs {
		if e.Type == agents.EventScreenPop {
			var p agents.ScreenPop
			if err := json.Unmarshal(e.Data, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// A caller talking to an agent of one queue is transferred blind to
// another: the first agent's leg is hung up and the agent released, the
// caller hears the transfer prompt and waits in the new queue with the
// priority and join time of their call, so a caller who joined that queue
// after them (at equal priority) is served after them; the next agent's
// screen pop says it is a transfer, from whom and from where, and carries
// the call's work order.
func TestBlindTransferKeepsPlace(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                 string
		moved, other         time.Time // join times: the transferred caller, a caller waiting in billing
		movedPrio, otherPrio queue.Priority
		first                string // whom the billing agent serves first
	}{
		{"joined before the billing caller", t0, t0.Add(30 * time.Second), queue.Normal, queue.Normal, "moved"},
		{"joined after the billing caller", t0.Add(30 * time.Second), t0, queue.Normal, queue.Normal, "other"},
		{"important, joined after", t0.Add(30 * time.Second), t0, queue.Important, queue.Normal, "moved"},
		{"normal, behind an important caller", t0, t0.Add(30 * time.Second), queue.Normal, queue.Important, "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, d, sw, clk := setup(t, "1001", "1002")
			hub := withHub(t, d)
			ctx := context.Background()
			setSkills(t, reg, "1001", map[string]int{"general": 1})
			setSkills(t, reg, "1002", map[string]int{"billing": 1})
			login(t, reg, clk, "1001") // nobody serves billing yet
			var r rung
			sw.OnOriginate = r.answer
			other := ivr.NewSession(sw, "other", zerolog.Nop())
			otherOut := serveFull(d, other, queue.Caller{CallID: "other", Phone: "13900139000", Queue: "billing", Joined: tc.other, Priority: tc.otherPrio})
			waitFor(t, "other caller waiting in billing", func() bool { n, _ := d.Waiting(ctx, "billing"); return n["billing"] == 1 })
			moved := ivr.NewSession(sw, "moved", zerolog.Nop())
			movedOut := serveFull(d, moved, queue.Caller{CallID: "moved", Phone: "13800138000", Queue: "general", Joined: tc.moved,
				Priority: tc.movedPrio, TicketID: "T1", MenuPath: "0"})
			waitFor(t, "1001 talking", func() bool { return state(t, reg, "1001").State == agents.OnCall })

			rep, err := hub.Ask(ctx, transfer.Request{ID: "r1", CallID: "moved", Queue: "billing", By: "e2e-supervisor"})
			if err != nil || !rep.OK || rep.FromAgent != "1001" || rep.FromQueue != "general" || rep.ToQueue != "billing" || rep.TicketID != "T1" {
				t.Fatalf("transfer reply %+v %v", rep, err)
			}
			waitFor(t, "first agent hung up and released", func() bool {
				return sw.IsHungUp("moved-agent-1") && state(t, reg, "1001").State == agents.Available
			})
			waitFor(t, "both wait in billing", func() bool { n, _ := d.Waiting(ctx, "billing"); return n["billing"] == 2 })
			if !sw.Has("play moved sound:hotline/transfer_queue") {
				t.Errorf("the caller did not hear the transfer prompt: %v", sw.Actions())
			}
			score, err := d.rdb.ZScore(ctx, "t:queue:billing:joined", "moved").Result()
			if err != nil || int64(score) != tc.moved.UnixMilli() {
				t.Errorf("join time in the new queue %v %v, want the call's %d", int64(score), err, tc.moved.UnixMilli())
			}

			login(t, reg, clk, "1002")
			waitFor(t, "1002 rung", func() bool { return len(popsOf(t, reg, "1002")) > 0 })
			pop := popsOf(t, reg, "1002")[0]
			if pop.CallID != tc.first {
				t.Fatalf("billing agent served %s first, want %s (rung %v)", pop.CallID, tc.first, r.list())
			}
			waitFor(t, "1002 talking", func() bool { return state(t, reg, "1002").State == agents.OnCall })
			if tc.first == "other" { // the other caller ends; then the moved one is offered
				sw.HangUp("other")
				waitFor(t, "moved caller offered to 1002", func() bool { return len(popsOf(t, reg, "1002")) == 2 })
				pop = popsOf(t, reg, "1002")[1]
			}
			if !pop.Transfer || pop.FromAgent != "1001" || pop.FromQueue != "general" || pop.Queue != "billing" || pop.TicketID != "T1" || pop.CallID != "moved" {
				t.Errorf("screen pop of the transferred caller: %+v", pop)
			}
			for _, p := range popsOf(t, reg, "1002") {
				if p.CallID == "other" && p.Transfer {
					t.Errorf("the other caller's pop says transfer: %+v", p)
				}
			}
			waitFor(t, "moved caller talking to 1002", func() bool {
				a := state(t, reg, "1002")
				return a.State == agents.OnCall && a.CallID == "moved"
			})
			sw.HangUp("moved")
			res := <-movedOut
			if res.Outcome != Connected || res.Agent != "1002" || res.Queue != "billing" || len(res.Transfers) != 1 ||
				res.Transfers[0].FromAgent != "1001" || res.Transfers[0].ToQueue != "billing" || res.Transfers[0].By != "e2e-supervisor" {
				t.Errorf("result of the transferred call: %+v", res)
			}
			sw.HangUp("other")
			<-otherOut
		})
	}
}

// A request that is not in order is refused with the reason and the
// conversation goes on; a call that is not bridged anywhere gets no
// answer (the asker's timeout).
func TestTransferRefused(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	hub := withHub(t, d)
	hub.SetWait(time.Second) // BLPOP counts in seconds
	ctx := context.Background()
	login(t, reg, clk, "1001")
	var r rung
	sw.OnOriginate = r.answer
	sess := ivr.NewSession(sw, "c1", zerolog.Nop())
	out := serveFull(d, sess, queue.Caller{CallID: "c1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "talking", func() bool { return state(t, reg, "1001").State == agents.OnCall })
	for _, tc := range []struct {
		name string
		req  transfer.Request
		err  error
	}{
		{"another agent's call", transfer.Request{ID: "r1", CallID: "c1", Queue: "billing", Agent: "1009", By: "x"}, nil},
		{"no queue", transfer.Request{ID: "r2", CallID: "c1", By: "x"}, nil},
		{"a call not bridged here", transfer.Request{ID: "r3", CallID: "c9", Queue: "billing", By: "x"}, transfer.ErrNoOwner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := hub.Ask(ctx, tc.req)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("reply %+v %v, want %v", rep, err, tc.err)
				}
				return
			}
			if err != nil || rep.OK || rep.Error == "" {
				t.Fatalf("reply %+v %v, want a refusal", rep, err)
			}
		})
	}
	if state(t, reg, "1001").State != agents.OnCall || len(sw.Bridge("br-c1")) != 2 {
		t.Fatalf("a refused transfer ended the conversation: %v", sw.Actions())
	}
	sw.HangUp("c1")
	if res := <-out; res.Outcome != Connected || len(res.Transfers) != 0 {
		t.Fatalf("result %+v", res)
	}
}
