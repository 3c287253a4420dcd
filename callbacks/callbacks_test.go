package callbacks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
)

// testPolicy: the abandoned kind as in the default policy, any hour, and
// the other kinds with one attempt.
func testPolicy() policy.CallbackPolicy {
	one := policy.CallbackKind{Window: 10 * time.Minute, MaxAttempts: 1}
	return policy.CallbackPolicy{Kinds: map[string]policy.CallbackKind{
		KindAbandoned: {Delay: 30 * time.Second, Window: 10 * time.Minute, MaxAttempts: 3, Retry: 2 * time.Minute},
		KindCutOff:    one, KindFollowUp: one, KindFirstContact: one, KindScheduled: one, KindVirtualHold: one,
	}}
}

func newStore(t *testing.T) (*Store, *clocktest.Clock) {
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	return NewStore(rdb, "t:", testPolicy(), clk.Now), clk
}

func TestOnePendingCallbackPerNumber(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	id1, new1, err := st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"})
	if err != nil || !new1 {
		t.Fatal(err)
	}
	id2, new2, err := st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c2"})
	if err != nil || new2 || id2 != id1 {
		t.Fatalf("second request: %s %v %v", id2, new2, err)
	}
	if _, n, _ := st.Schedule(ctx, Request{Phone: "13900139000", CallID: "c3"}); !n {
		t.Fatal("another number must get its own callback")
	}
	list, _ := st.ListByPhone(ctx, "13800138000", 10)
	if len(list) != 1 || list[0].Status != Pending || list[0].CallID != "c1" {
		t.Fatalf("list: %+v", list)
	}
}

// The customer's voice (English, slow) is kept for the callback; an
// unknown one is refused rather than played as missing files.
func TestCallbackKeepsVoice(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1", Voice: "en"}); err != nil {
		t.Fatal(err)
	}
	list, _ := st.ListByPhone(ctx, "13800138000", 10)
	if len(list) != 1 || list[0].Voice != "en" {
		t.Fatalf("list: %+v", list)
	}
	if _, _, err := st.Schedule(ctx, Request{Phone: "13900139000", Voice: "fr"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown voice: %v", err)
	}
}

func TestNotDueBeforeDelayAndClaimedOnce(t *testing.T) {
	st, clk := newStore(t)
	ctx := context.Background()
	st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"})
	if _, ok, _ := st.ClaimDue(ctx, time.Minute); ok {
		t.Fatal("claimed before the delay")
	}
	clk.Add(31 * time.Second)
	// Ten replicas race for it; exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := st.ClaimDue(ctx, time.Minute); ok && err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("claimed %d times", wins)
	}
}

func TestRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempts int           // attempts already made, this one included
		elapsed  time.Duration // since scheduling, at the end of this attempt
		answered bool
		want     Status
	}{
		{"answered", 1, time.Minute, true, Completed},
		{"no answer, retry fits", 1, time.Minute, false, Pending},
		{"no answer, attempts used", 3, 5 * time.Minute, false, Failed},
		{"no answer, retry past window", 1, 9 * time.Minute, false, Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clk := newStore(t)
			ctx := context.Background()
			st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"})
			clk.Add(tc.elapsed)
			cb, ok, err := st.ClaimDue(ctx, time.Minute)
			if !ok || err != nil {
				t.Fatal(err)
			}
			cb.Attempts = tc.attempts
			got, err := st.Finish(ctx, cb, tc.answered, "x")
			if err != nil || got != tc.want {
				t.Fatalf("status %s, %v; want %s", got, err, tc.want)
			}
			_, isNew, _ := st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c2"})
			if isNew != got.Final() {
				t.Fatalf("a final callback must free the number (final=%v, new=%v)", got.Final(), isNew)
			}
		})
	}
}

func TestRecoverAfterReplicaDied(t *testing.T) {
	st, clk := newStore(t)
	ctx := context.Background()
	st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"})
	clk.Add(time.Minute)
	if _, ok, _ := st.ClaimDue(ctx, 30*time.Second); !ok {
		t.Fatal("not claimed")
	}
	// The replica dies; its lease runs out.
	clk.Add(31 * time.Second)
	if n, err := st.Recover(ctx); n != 1 || err != nil {
		t.Fatalf("recovered %d, %v", n, err)
	}
	cb, ok, _ := st.ClaimDue(ctx, time.Minute)
	if !ok || cb.Attempts != 2 {
		t.Fatalf("after recovery: %+v %v", cb, ok)
	}
}

func TestWorkerPlacesThroughCarrierAndHandsOver(t *testing.T) {
	st, clk := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sw := ivrtest.New()
	answered := make(chan Callback, 1)
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
	}
	w := NewWorker(st, sw, Dial{Carrier: "carrier", CallerID: "95598", RingTimeout: time.Second, Poll: 10 * time.Millisecond},
		metrics.Discard(), zerolog.Nop(), func(ctx context.Context, sess *ivr.Session, cb Callback) {
			sess.Close(ctx)
			answered <- cb
		})
	st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"})
	clk.Add(time.Minute)
	go w.Run(ctx)
	select {
	case cb := <-answered:
		if cb.Phone != "13800138000" {
			t.Fatalf("cb %+v", cb)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("callback not placed: %v", sw.Actions())
	}
	if !sw.Has("originate cb-1-1 PJSIP/13800138000@carrier callback,1") {
		t.Fatalf("actions %v", sw.Actions())
	}
	cb, _ := st.Get(ctx, "1")
	if cb.Status != Completed || cb.Outcome != "answered" {
		t.Fatalf("stored %+v", cb)
	}
}

func TestWorkerRetriesUnansweredAndExpires(t *testing.T) {
	st, clk := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sw := ivrtest.New()
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) { s.HangUp(req.ChannelID) }
	w := NewWorker(st, sw, Dial{Carrier: "carrier", CallerID: "95598", RingTimeout: time.Second, Poll: 10 * time.Millisecond},
		metrics.Discard(), zerolog.Nop(), func(ctx context.Context, sess *ivr.Session, cb Callback) { t.Error("nobody answered") })
	st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"})
	clk.Add(time.Minute)
	go w.Run(ctx)
	waitStatus := func(want Status, attempts int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%s after %d attempts", want, attempts), func() bool {
			cb, _ := st.Get(ctx, "1")
			return cb.Status == want && cb.Attempts == attempts
		})
	}
	waitStatus(Pending, 1)
	clk.Add(2 * time.Minute)
	waitStatus(Pending, 2)
	clk.Add(2 * time.Minute)
	waitStatus(Failed, 3)
}

// A follow-up and an abandoned-call callback to one number are separate
// promises; each keeps the attempts and window it was promised with.
func TestOnePendingPerNumberAndKind(t *testing.T) {
	st, clk := newStore(t)
	ctx := context.Background()
	_, a, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindAbandoned})
	fid, f, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindFollowUp, TicketID: "20261122000001",
		Delay: time.Second, Window: 10 * time.Minute, MaxAttempts: 1})
	if !a || !f {
		t.Fatalf("abandoned new=%v, follow-up new=%v: kinds must not share the pending slot", a, f)
	}
	if _, again, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindFollowUp}); again {
		t.Fatal("second pending follow-up for the same number")
	}
	clk.Add(2 * time.Second)
	cb, ok, err := st.ClaimDue(ctx, time.Minute)
	if !ok || err != nil || cb.ID != fid || cb.Kind != KindFollowUp || cb.TicketID != "20261122000001" {
		t.Fatalf("claimed %+v %v %v", cb, ok, err)
	}
	// One attempt promised: no answer ends it.
	if st2, _ := st.Finish(ctx, cb, false, "no_answer"); st2 != Failed {
		t.Fatalf("status %s after the only attempt", st2)
	}
}

func withHours(p policy.CallbackPolicy, kind, hours string) policy.CallbackPolicy {
	h, err := policy.ParseDialingHours(hours)
	if err != nil {
		panic(err)
	}
	k := p.Kinds[kind]
	k.Hours = h
	p.Kinds[kind] = k
	return p
}

// A customer who abandons at 23:00 is not called at night: the first
// attempt waits for 08:00 and the window runs from then. A fault
// follow-up (AnyHour) is placed at once.
func TestDialingHoursAcrossMidnight(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	at23 := time.Date(2026, 11, 23, 23, 0, 0, 0, china.Zone)
	clk := clocktest.New(at23)
	st := NewStore(rdb, "t:", withHours(testPolicy(), KindAbandoned, "08:00-21:00"), clk.Now)
	ctx := context.Background()
	id, _, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindAbandoned})
	cb, _ := st.Get(ctx, id)
	morning := time.Date(2026, 11, 24, 8, 0, 0, 0, china.Zone)
	if !cb.DueAt.Equal(morning) || !cb.Deferred || !cb.Deadline.Equal(morning.Add(10*time.Minute-30*time.Second)) {
		t.Fatalf("night callback due %s deadline %s deferred %v", cb.DueAt, cb.Deadline, cb.Deferred)
	}
	clk.Add(time.Hour) // midnight passes: still nothing to dial
	if _, ok, _ := st.ClaimDue(ctx, time.Minute); ok {
		t.Fatal("dialled at night")
	}
	id2, _, _ := st.Schedule(ctx, Request{Phone: "13900139000", Kind: KindAbandoned, AnyHour: true})
	if cb2, _ := st.Get(ctx, id2); cb2.Deferred || !cb2.DueAt.Equal(clk.Now().Add(30*time.Second)) {
		t.Fatalf("any-hour callback deferred: %+v", cb2)
	}
}

// A retry that would fall in the quiet hours, past the window, ends the
// callback instead of ringing at night.
func TestRetryNeverAtNight(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 23, 20, 58, 0, 0, china.Zone))
	st := NewStore(rdb, "t:", withHours(testPolicy(), KindAbandoned, "08:00-21:00"), clk.Now)
	ctx := context.Background()
	st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindAbandoned})
	clk.Add(time.Minute)
	cb, ok, _ := st.ClaimDue(ctx, time.Minute)
	if !ok {
		t.Fatal("not claimed")
	}
	if got, _ := st.Finish(ctx, cb, false, "no_answer"); got != Failed {
		t.Fatalf("retry at 21:01 falls after closing and the window ends before 08:00: status %s", got)
	}
}

// When lines are short, the callback whose window closes first goes first,
// and no more attempts ring at once than the line limit allows.
func TestNearestDeadlineFirstWithinLineLimit(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 23, 10, 0, 0, 0, china.Zone))
	pol := testPolicy()
	pol.MaxConcurrent = 2
	st := NewStore(rdb, "t:", pol, clk.Now)
	ctx := context.Background()
	late, _, _ := st.Schedule(ctx, Request{Phone: "13800000001", Kind: KindAbandoned})                                 // deadline +10m
	soon, _, _ := st.Schedule(ctx, Request{Phone: "13800000002", Kind: KindScheduled, At: clk.Now().Add(time.Second)}) // +10m too
	urgent, _, _ := st.Schedule(ctx, Request{Phone: "13800000003", Kind: KindFirstContact, Deadline: clk.Now().Add(2 * time.Minute)})
	_ = soon
	clk.Add(time.Minute)
	first, ok, _ := st.ClaimDue(ctx, time.Minute)
	if !ok || first.ID != urgent {
		t.Fatalf("claimed %+v first, want the nearest deadline %s", first, urgent)
	}
	second, ok, _ := st.ClaimDue(ctx, time.Minute)
	if !ok {
		t.Fatal("second line unused")
	}
	if _, ok, _ := st.ClaimDue(ctx, time.Minute); ok {
		t.Fatal("a third attempt rang with two lines")
	}
	st.Finish(ctx, second, true, "answered") // a line frees up
	third, ok, _ := st.ClaimDue(ctx, time.Minute)
	if !ok || (third.ID != late && second.ID != late) {
		t.Fatalf("after a line freed: %+v", third)
	}
}

// Every attempt is on record; a refused or unreachable number is not
// dialled again.
func TestAttemptHistoryAndGiveUp(t *testing.T) {
	st, clk := newStore(t)
	ctx := context.Background()
	id, _, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindAbandoned})
	clk.Add(time.Minute)
	cb, _, _ := st.ClaimDue(ctx, time.Minute)
	if got, _ := st.Finish(ctx, cb, false, "busy"); got != Pending {
		t.Fatalf("busy: %s", got)
	}
	clk.Add(2 * time.Minute)
	cb, _, _ = st.ClaimDue(ctx, time.Minute)
	if got, _ := st.Finish(ctx, cb, false, "rejected"); got != Failed {
		t.Fatalf("rejected: %s, want failed without a third attempt", got)
	}
	cb, _ = st.Get(ctx, id)
	if len(cb.History) != 2 || cb.History[0].Outcome != "busy" || cb.History[1].Outcome != "rejected" || cb.History[1].N != 2 {
		t.Fatalf("history %+v", cb.History)
	}
}

// A customer who calls in and is served needs no callback any more; one
// already ringing is left alone.
func TestCancelServed(t *testing.T) {
	st, clk := newStore(t)
	ctx := context.Background()
	a, _, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindAbandoned})
	st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindFollowUp, TicketID: "x"})
	ids, err := st.CancelServed(ctx, "13800138000", KindAbandoned, KindCutOff)
	if err != nil || len(ids) != 1 || ids[0] != a {
		t.Fatalf("cancelled %v %v", ids, err)
	}
	cb, _ := st.Get(ctx, a)
	if cb.Status != Cancelled {
		t.Fatalf("status %s", cb.Status)
	}
	if _, isNew, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindAbandoned}); !isNew {
		t.Fatal("a cancelled callback still blocks a new promise")
	}
	clk.Add(time.Hour)
	n, _ := st.Pending(ctx)
	if n != 2 { // the follow-up and the new abandoned one
		t.Fatalf("pending %d", n)
	}
	// One ringing now is not cancelled.
	placing, _, _ := st.ClaimDue(ctx, time.Minute)
	if ids, _ := st.CancelServed(ctx, "13800138000", placing.Kind); len(ids) != 0 {
		t.Fatalf("cancelled a ringing callback: %v", ids)
	}
}

func TestOutcomeFromCause(t *testing.T) {
	for cause, want := range map[int]string{17: "busy", 19: "no_answer", 18: "no_answer", 21: "rejected", 1: "unreachable", 34: "unreachable", 127: "failed"} {
		if got := Outcome(cause); got != want {
			t.Errorf("cause %d: %s, want %s", cause, got, want)
		}
	}
}

func agentFirstPolicy() policy.CallbackPolicy {
	p := testPolicy()
	k := p.Kinds[KindFirstContact]
	k.AgentFirst, k.MaxAttempts, k.Retry = true, 2, time.Minute
	p.Kinds[KindFirstContact] = k
	return p
}

func TestAgentFirst(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 23, 10, 0, 0, 0, china.Zone))
	st := NewStore(rdb, "t:", agentFirstPolicy(), clk.Now)
	reg := agents.NewRegistry(rdb, "t:", clk.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg.Ensure(ctx, []string{"1001"})
	sw := ivrtest.New()
	sw.SetOnline("1001", true)
	var order []string
	var mu sync.Mutex
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		mu.Lock()
		order = append(order, req.Endpoint)
		mu.Unlock()
		s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
	}
	w := NewWorker(st, sw, Dial{Carrier: "carrier", CallerID: "95598", RingTimeout: time.Second, Poll: 10 * time.Millisecond},
		metrics.Discard(), zerolog.Nop(), func(ctx context.Context, sess *ivr.Session, cb Callback) {
			t.Error("agent-first must not go to the customer-first flow")
		})
	w.AgentFirst = &AgentFirst{Agents: reg, Phones: agents.SwitchPhones{Switch: sw}, RingTimeout: time.Second, Retry: 15 * time.Second}
	id, _, _ := st.Schedule(ctx, Request{Phone: "13800138000", Kind: KindFirstContact, TicketID: "t1"})
	go w.Run(ctx)

	// Nobody logged in: the claim is handed back for Retry later, no
	// attempt used.
	due := clk.Now().Add(w.AgentFirst.Retry)
	waitFor(t, "the claim handed back for later", func() bool {
		cb, _ := st.Get(ctx, id)
		return cb.DueAt.Equal(due)
	})
	if cb, _ := st.Get(ctx, id); cb.Attempts != 0 || cb.Status != Pending {
		t.Fatalf("without agents: %+v", cb)
	}
	reg.Login(ctx, "1001")
	clk.Add(20 * time.Second)
	waitFor(t, "caller and agent bridged", func() bool { return len(sw.Bridge("br-cb-"+id+"-1")) == 2 })
	mu.Lock()
	if len(order) != 2 || order[0] != "PJSIP/1001" || order[1] != "PJSIP/13800138000@carrier" {
		t.Fatalf("dialled %v: the agent must be rung before the customer", order)
	}
	mu.Unlock()
	if !sw.Has("play cb-" + id + "-1-agent-1 sound:hotline/agent_whisper") {
		t.Fatalf("agent not told it is a callback: %v", sw.Actions())
	}
	if cb, _ := st.Get(ctx, id); cb.Status != Completed {
		t.Fatalf("callback %+v", cb)
	}
	sw.HangUp("cb-" + id + "-1") // the customer ends the call
	waitFor(t, "agent released", func() bool {
		a, _ := reg.Get(ctx, "1001")
		return a.State == agents.Available
	})
}

// waitFor waits for cond, which the worker's goroutines make true, polling
// it (the worker polls Redis every 10 ms of real time: these tests run
// against a real redis-server, which a synctest bubble cannot hold).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A kind may show its own number; the others show the controller's.
func TestCallerIDPerKind(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 23, 10, 0, 0, 0, china.Zone))
	pol := testPolicy()
	k := pol.Kinds[KindScheduled]
	k.CallerID = "01065001234"
	pol.Kinds[KindScheduled] = k
	st := NewStore(rdb, "t:", pol, clk.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sw := ivrtest.New()
	shown := make(chan string, 4)
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		shown <- req.AppArgs[1] + ":" + req.CallerID
		s.HangUp(req.ChannelID)
	}
	w := NewWorker(st, sw, Dial{Carrier: "carrier", CallerID: "95598", RingTimeout: time.Second, Poll: 10 * time.Millisecond},
		metrics.Discard(), zerolog.Nop(), func(context.Context, *ivr.Session, Callback) {})
	a, _, _ := st.Schedule(ctx, Request{Phone: "13800000001", Kind: KindScheduled, At: clk.Now()})
	b, _, _ := st.Schedule(ctx, Request{Phone: "13800000002", Kind: KindAbandoned})
	clk.Add(time.Minute)
	go w.Run(ctx)
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case s := <-shown:
			got[s] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("only %v dialled", got)
		}
	}
	if !got[a+":01065001234"] || !got[b+":95598"] {
		t.Fatalf("caller IDs shown: %v", got)
	}
}
