package hold

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/queue"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// tdisp is the holder of waiting callers with its line, as the tests
// drive them; cfg.Queues is the live policy map (a test may change it).
type tdisp struct {
	*Hold
	*queue.Queue
	rdb *redis.Client
	cfg struct{ Queues map[string]policy.Queue }
}

func setup(t *testing.T, ids ...string) (*agents.Registry, *tdisp, *ivrtest.Switch, *clocktest.Clock) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	reg := agents.NewRegistry(rdb, "t:", clk.Now)
	if err := reg.Ensure(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	sw := ivrtest.New()
	for _, id := range ids {
		sw.SetOnline(id, true)
	}
	queues := map[string]policy.Queue{}
	for _, q := range policy.QueueNames {
		queues[q] = policy.Queue{HandleTime: time.Minute} // any level at once, no announcements, no overflow
	}
	line := queue.New(rdb, "t:", reg, queues, 20*time.Millisecond, metrics.Discard())
	h := New(line, reg, sw, agents.SwitchPhones{Switch: sw}, Config{RingTimeout: 300 * time.Millisecond, Poll: 20 * time.Millisecond,
		MOHClass: "default", OfferTimeout: 200 * time.Millisecond}, metrics.Discard(), zerolog.Nop())
	d := &tdisp{Hold: h, Queue: line, rdb: rdb}
	d.cfg.Queues = queues
	return reg, d, sw, clk
}

// answerWhen makes the fake agents answer (or not) by agent id.
func answerWhen(answers map[string]bool) func(*ivrtest.Switch, ivr.OriginateRequest) {
	return func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		agent := req.AppArgs[2]
		if answers[agent] {
			s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
			return
		}
		// Otherwise it rings until the originate's timeout, when Asterisk
		// ends it with "no answer".
		time.AfterFunc(req.Timeout, func() {
			s.Emit(ivr.Event{Kind: ivr.EvHangup, ChannelID: req.ChannelID, Cause: 19})
		})
	}
}

func serve(t *testing.T, d *tdisp, sw *ivrtest.Switch, c queue.Caller) (chan Outcome, *ivr.Session) {
	sess := ivr.NewSession(sw, c.CallID, zerolog.Nop())
	out := make(chan Outcome, 1)
	go func() {
		r, err := d.Serve(context.Background(), sess, c)
		if err != nil {
			t.Errorf("serve %s: %v", c.CallID, err)
		}
		out <- r.Outcome
	}()
	return out, sess
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLongestIdleAnswersAndIsReleased(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001", "1002")
	login(t, reg, clk, "1002", "1001") // 1002 has been idle longest
	sw.OnOriginate = answerWhen(map[string]bool{"1001": true, "1002": true})
	out, _ := serve(t, d, sw, queue.Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
	if !sw.Has("originate call1-agent-1 PJSIP/1002") {
		t.Fatalf("did not ring the longest-idle agent first: %v", sw.Actions())
	}
	if a := state(t, reg, "1002"); a.State != agents.OnCall {
		t.Fatalf("agent state %s", a.State)
	}
	sw.HangUp("call1")
	if o := <-out; o != Connected {
		t.Fatalf("outcome %s", o)
	}
	if a := state(t, reg, "1002"); a.State != agents.Available {
		t.Fatalf("agent not released: %s", a.State)
	}
	if !sw.IsHungUp("call1-agent-1") || !sw.Has("bridge-destroy br-call1") {
		t.Fatalf("agent leg or bridge left up: %v", sw.Actions())
	}
}

func TestNoAnswerRingsNextAndPausesFirst(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001", "1002")
	login(t, reg, clk, "1001", "1002")
	sw.OnOriginate = answerWhen(map[string]bool{"1002": true})
	out, _ := serve(t, d, sw, queue.Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
	if a := state(t, reg, "1001"); a.State != agents.Paused || a.Reason != agents.ReasonNoAnswer {
		t.Fatalf("first agent: %+v", a)
	}
	if !sw.Has("originate call1-agent-2 PJSIP/1002") {
		t.Fatalf("next agent not rung: %v", sw.Actions())
	}
	sw.HangUp("call1-agent-2") // the agent ends the call
	if o := <-out; o != Connected {
		t.Fatalf("outcome %s", o)
	}
}

func TestUnregisteredAgentIsSkipped(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001", "1002")
	login(t, reg, clk, "1001", "1002")
	sw.SetOnline("1001", false)
	sw.OnOriginate = answerWhen(map[string]bool{"1001": true, "1002": true})
	out, _ := serve(t, d, sw, queue.Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
	if sw.Has("originate call1-agent-1 PJSIP/1001") {
		t.Fatal("rang an unregistered softphone")
	}
	if a := state(t, reg, "1001"); a.State != agents.Paused || a.Reason != agents.ReasonUnregistered {
		t.Fatalf("unregistered agent: %+v", a)
	}
	sw.HangUp("call1")
	<-out
}

func TestAbandonWhileWaitingAndWhileRinging(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	out, _ := serve(t, d, sw, queue.Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "general"); return n["general"] == 1 })
	sw.HangUp("call1")
	if o := <-out; o != Abandoned {
		t.Fatalf("outcome %s", o)
	}
	if n, _ := d.Waiting(context.Background(), "general"); n["general"] != 0 {
		t.Fatal("abandoned caller left in queue")
	}

	login(t, reg, clk, "1001")
	sw.OnOriginate = answerWhen(nil) // rings on
	out, _ = serve(t, d, sw, queue.Caller{CallID: "call2", Phone: "13800138000", Queue: "general"})
	waitFor(t, "ringing", func() bool { return state(t, reg, "1001").State == agents.Ringing })
	sw.HangUp("call2")
	if o := <-out; o != Abandoned {
		t.Fatalf("outcome %s", o)
	}
	if a := state(t, reg, "1001"); a.State != agents.Available {
		t.Fatalf("agent after caller left: %+v", a)
	}
	if !sw.IsHungUp("call2-agent-1") {
		t.Fatal("agent's ringing leg not hung up")
	}
}

// A callback customer keeps the place of their first call: they are served
// before a caller who joined after them, even though that caller has been
// in (another) queue longer this time and the agent serves both queues.
func TestCallbackKeepsItsPlace(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	var mu sync.Mutex
	var order []string
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		mu.Lock()
		order = append(order, req.AppArgs[1])
		mu.Unlock()
		s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID})
	}
	firstCall := clk.Now()
	clk.Add(time.Minute)
	out1, _ := serve(t, d, sw, queue.Caller{CallID: "new1", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "general"); return n["general"] == 1 })
	clk.Add(time.Minute)
	out2, _ := serve(t, d, sw, queue.Caller{CallID: "cb1", Queue: "callback", Joined: firstCall})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "callback"); return n["callback"] == 1 })
	login(t, reg, clk, "1001")
	waitFor(t, "first bridge", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 })
	sw.HangUp("cb1")
	<-out2
	waitFor(t, "second bridge", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 2 })
	sw.HangUp("new1")
	<-out1
	if got := strings.Join(order, ","); got != "cb1,new1" {
		t.Fatalf("served %s, want the callback first", got)
	}
}

func TestDeadReplicasCallerDoesNotBlockQueue(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	ctx := context.Background()
	// A caller whose replica died: in the queue, but no heartbeat.
	if err := d.rdb.ZAdd(ctx, "t:queue:general", redis.Z{Score: 0, Member: "ghost"}).Err(); err != nil {
		t.Fatal(err)
	}
	d.rdb.ZAdd(ctx, "t:queue:general:joined", redis.Z{Score: 0, Member: "ghost"})
	login(t, reg, clk, "1001")
	sw.OnOriginate = answerWhen(map[string]bool{"1001": true})
	out, _ := serve(t, d, sw, queue.Caller{CallID: "live", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-live")) == 2 })
	if w, _ := d.LongestWait(ctx, "general"); w != 0 {
		t.Fatalf("ghost still counted as waiting %s", w)
	}
	sw.HangUp("live")
	<-out
}

// Today's counts and the longest wait come from Redis, shared by replicas;
// the service-level marks are the policy's.
func TestQueueStats(t *testing.T) {
	for _, tc := range []struct {
		name string
		sl   *policy.ServiceLevel
		want queue.Stats
	}{
		// The first caller is answered after 26 s: within 30 s, not 20 s.
		{"default marks 20 s and 30 s", nil, queue.Stats{Offered: 2, Answered: 2, AnsweredSL: 1, AnsweredSL2: 2}},
		{"policy marks 10 s and 25 s", &policy.ServiceLevel{Within: 10 * time.Second, AlsoWithin: 25 * time.Second},
			queue.Stats{Offered: 2, Answered: 2, AnsweredSL: 1, AnsweredSL2: 1}},
		{"policy marks 30 s and 60 s", &policy.ServiceLevel{Within: 30 * time.Second, AlsoWithin: time.Minute},
			queue.Stats{Offered: 2, Answered: 2, AnsweredSL: 2, AnsweredSL2: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, d, sw, clk := setup(t, "1001")
			if tc.sl != nil {
				d.SetServiceLevel(*tc.sl)
			}
			ctx := context.Background()
			sw.OnOriginate = answerWhen(map[string]bool{"1001": true})
			out, _ := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "general"})
			waitFor(t, "queued", func() bool { n, _ := d.Waiting(ctx, "general"); return n["general"] == 1 })
			clk.Add(25 * time.Second)
			if w, _ := d.LongestWait(ctx, "general"); w != 25*time.Second {
				t.Fatalf("longest wait %s", w)
			}
			login(t, reg, clk, "1001") // answered after 26 s
			waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-c1")) == 2 })
			sw.HangUp("c1")
			<-out
			out, _ = serve(t, d, sw, queue.Caller{CallID: "c2", Queue: "general"})
			waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-c2")) == 2 })
			sw.HangUp("c2")
			<-out
			st, err := d.Today(ctx, "general")
			if err != nil || st != tc.want {
				t.Fatalf("stats %+v %v, want %+v", st, err, tc.want)
			}
		})
	}
}

func login(t *testing.T, reg *agents.Registry, clk *clocktest.Clock, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := reg.Login(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
	}
}

func state(t *testing.T, reg *agents.Registry, id string) agents.Agent {
	t.Helper()
	a, err := reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
