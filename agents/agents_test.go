package agents

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/rs/zerolog"
)

func setup(t *testing.T, ids ...string) (*Registry, *Dispatcher, *ivrtest.Switch, *clocktest.Clock) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	reg := NewRegistry(rdb, "t:", clk.Now)
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
	d := NewDispatcher(reg, sw, Config{RingTimeout: 300 * time.Millisecond, Poll: 20 * time.Millisecond, MOHClass: "default", Tech: "PJSIP",
		Queues: queues, OfferTimeout: 200 * time.Millisecond}, metrics.Discard(), zerolog.Nop())
	return reg, d, sw, clk
}

func login(t *testing.T, reg *Registry, clk *clocktest.Clock, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := reg.Login(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
	}
}

func state(t *testing.T, reg *Registry, id string) Agent {
	t.Helper()
	a, err := reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStateTransitions(t *testing.T) {
	reg, _, _, clk := setup(t, "1001")
	ctx := context.Background()
	for _, step := range []struct {
		name    string
		do      func() error
		want    State
		wantErr error
	}{
		{"pause while logged out", func() error { return reg.Pause(ctx, "1001", "lunch") }, LoggedOut, ErrBadState},
		{"login", func() error { return reg.Login(ctx, "1001") }, Available, nil},
		{"login twice", func() error { return reg.Login(ctx, "1001") }, Available, nil},
		{"pause", func() error { return reg.Pause(ctx, "1001", "lunch") }, Paused, nil},
		{"ready", func() error { return reg.Ready(ctx, "1001") }, Available, nil},
		{"logout", func() error { return reg.Logout(ctx, "1001") }, LoggedOut, nil},
		{"unknown agent", func() error { return reg.Login(ctx, "9999") }, LoggedOut, ErrUnknownAgent},
	} {
		clk.Add(time.Second)
		err := step.do()
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("%s: err %v, want %v", step.name, err, step.wantErr)
		}
		if a := state(t, reg, "1001"); a.State != step.want {
			t.Fatalf("%s: state %s, want %s", step.name, a.State, step.want)
		}
	}
	if err := reg.Pause(ctx, "1001", ""); !errors.Is(err, ErrBadState) {
		t.Fatalf("pause logged-out agent: %v", err)
	}
}

// answerWhen makes the fake agents answer (or not) by agent id.
func answerWhen(answers map[string]bool) func(*ivrtest.Switch, ivr.OriginateRequest) {
	return func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		agent := req.AppArgs[2]
		if answers[agent] {
			s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
		}
		// Otherwise it rings until the timeout.
	}
}

func serve(t *testing.T, d *Dispatcher, sw *ivrtest.Switch, c Caller) (chan Outcome, *ivr.Session) {
	sess := ivr.NewSession(sw, c.CallID, zerolog.Nop())
	out := make(chan Outcome, 1)
	go func() {
		o, err := d.Serve(context.Background(), sess, c)
		if err != nil {
			t.Errorf("serve %s: %v", c.CallID, err)
		}
		out <- o
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
	out, _ := serve(t, d, sw, Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
	if !sw.Has("originate call1-agent-1 PJSIP/1002") {
		t.Fatalf("did not ring the longest-idle agent first: %v", sw.Actions())
	}
	if a := state(t, reg, "1002"); a.State != OnCall {
		t.Fatalf("agent state %s", a.State)
	}
	sw.HangUp("call1")
	if o := <-out; o != Connected {
		t.Fatalf("outcome %s", o)
	}
	if a := state(t, reg, "1002"); a.State != Available {
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
	out, _ := serve(t, d, sw, Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
	if a := state(t, reg, "1001"); a.State != Paused || a.Reason != ReasonNoAnswer {
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
	out, _ := serve(t, d, sw, Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
	if sw.Has("originate call1-agent-1 PJSIP/1001") {
		t.Fatal("rang an unregistered softphone")
	}
	if a := state(t, reg, "1001"); a.State != Paused || a.Reason != ReasonUnregistered {
		t.Fatalf("unregistered agent: %+v", a)
	}
	sw.HangUp("call1")
	<-out
}

func TestAbandonWhileWaitingAndWhileRinging(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	out, _ := serve(t, d, sw, Caller{CallID: "call1", Phone: "13800138000", Queue: "general"})
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
	out, _ = serve(t, d, sw, Caller{CallID: "call2", Phone: "13800138000", Queue: "general"})
	waitFor(t, "ringing", func() bool { return state(t, reg, "1001").State == Ringing })
	sw.HangUp("call2")
	if o := <-out; o != Abandoned {
		t.Fatalf("outcome %s", o)
	}
	if a := state(t, reg, "1001"); a.State != Available {
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
	out1, _ := serve(t, d, sw, Caller{CallID: "new1", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "general"); return n["general"] == 1 })
	clk.Add(time.Minute)
	out2, _ := serve(t, d, sw, Caller{CallID: "cb1", Queue: "callback", Joined: firstCall})
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
	if err := d.reg.rdb.ZAdd(ctx, d.queueKey("general"), redisZ(0, "ghost")).Err(); err != nil {
		t.Fatal(err)
	}
	d.reg.rdb.ZAdd(ctx, d.joinedKey("general"), redisZ(0, "ghost"))
	login(t, reg, clk, "1001")
	sw.OnOriginate = answerWhen(map[string]bool{"1001": true})
	out, _ := serve(t, d, sw, Caller{CallID: "live", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-live")) == 2 })
	if w, _ := d.LongestWait(ctx, "general"); w != 0 {
		t.Fatalf("ghost still counted as waiting %s", w)
	}
	sw.HangUp("live")
	<-out
}

// Today's counts and the longest wait come from Redis, shared by replicas.
func TestQueueStats(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	ctx := context.Background()
	sw.OnOriginate = answerWhen(map[string]bool{"1001": true})
	out, _ := serve(t, d, sw, Caller{CallID: "c1", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(ctx, "general"); return n["general"] == 1 })
	clk.Add(25 * time.Second)
	if w, _ := d.LongestWait(ctx, "general"); w != 25*time.Second {
		t.Fatalf("longest wait %s", w)
	}
	login(t, reg, clk, "1001") // answered after 26 s: within 30 s, not 20 s
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-c1")) == 2 })
	sw.HangUp("c1")
	<-out
	out, _ = serve(t, d, sw, Caller{CallID: "c2", Queue: "general"})
	waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-c2")) == 2 })
	sw.HangUp("c2")
	<-out
	st, err := d.Today(ctx, "general")
	want := Stats{Offered: 2, Answered: 2, Answered20s: 1, Answered30s: 2}
	if err != nil || st != want {
		t.Fatalf("stats %+v %v, want %+v", st, err, want)
	}
}

func TestSweepFreesAgentOfDeadReplica(t *testing.T) {
	reg, _, _, clk := setup(t, "1001")
	ctx := context.Background()
	login(t, reg, clk, "1001")
	// Simulate a claim by a replica that then died: ringing, no lease.
	if err := reg.rdb.HSet(ctx, reg.agentKey("1001"), "state", "ringing", "call_id", "x").Err(); err != nil {
		t.Fatal(err)
	}
	n, err := reg.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep freed %d, %v", n, err)
	}
	if a := state(t, reg, "1001"); a.State != Available {
		t.Fatalf("state %s", a.State)
	}
}

func TestClaimIdle(t *testing.T) {
	reg, _, _, clk := setup(t, "1001", "1002")
	ctx := context.Background()
	if _, ok, _ := reg.ClaimIdle(ctx, "cb-1"); ok {
		t.Fatal("claimed a logged-out agent")
	}
	login(t, reg, clk, "1002", "1001")
	id, ok, err := reg.ClaimIdle(ctx, "cb-1")
	if err != nil || !ok || id != "1002" {
		t.Fatalf("claimed %s %v %v, want the longest idle 1002", id, ok, err)
	}
	if a := state(t, reg, "1002"); a.State != Ringing || a.CallID != "cb-1" {
		t.Fatalf("agent %+v", a)
	}
	if err := reg.Release(ctx, "1002", "cb-1", false); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := reg.ClaimIdle(ctx, "cb-2"); id != "1002" {
		t.Fatalf("an agent released untalked must keep their place, got %s", id)
	}
}

// After a conversation the agent does timed after-call work before the next
// call; they may end it early, or pause during it.
func TestWrapUp(t *testing.T) {
	reg, _, _, clk := setup(t, "1001", "1002")
	reg.SetWrapUp(30 * time.Second)
	ctx := context.Background()
	login(t, reg, clk, "1001", "1002")
	talk := func(id string) {
		t.Helper()
		if _, ok, _ := reg.ClaimIdle(ctx, "c-"+id); !ok {
			t.Fatal("no agent to claim")
		}
		if err := reg.Answered(ctx, id, "c-"+id); err != nil {
			t.Fatal(err)
		}
		if err := reg.Release(ctx, id, "c-"+id, true); err != nil {
			t.Fatal(err)
		}
	}
	talk("1001")
	a := state(t, reg, "1001")
	if a.State != WrapUp || !a.WrapUntil.Equal(clk.Now().Add(30*time.Second)) {
		t.Fatalf("after a call: %+v", a)
	}
	if id, _, _ := reg.ClaimIdle(ctx, "next"); id != "1002" {
		t.Fatalf("an agent in wrap-up was offered a call (got %q)", id)
	}
	reg.Release(ctx, "1002", "next", false)
	clk.Add(29 * time.Second)
	if n, _ := reg.EndWrapUps(ctx); n != 0 {
		t.Fatal("wrap-up ended early")
	}
	clk.Add(time.Second)
	if n, _ := reg.EndWrapUps(ctx); n != 1 || state(t, reg, "1001").State != Available {
		t.Fatalf("wrap-up not over: %+v", state(t, reg, "1001"))
	}
	// Ending it early with ready; pausing during it sticks.
	talk("1002")
	if err := reg.Ready(ctx, "1002"); err != nil || state(t, reg, "1002").State != Available {
		t.Fatalf("ready from wrap-up: %v", err)
	}
	talk("1001")
	if err := reg.Pause(ctx, "1001", "training"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	reg.EndWrapUps(ctx)
	if a := state(t, reg, "1001"); a.State != Paused || a.Reason != "training" {
		t.Fatalf("pause during wrap-up lost: %+v", a)
	}
}
