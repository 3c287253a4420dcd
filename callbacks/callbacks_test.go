package callbacks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/rs/zerolog"
)

var policy = Policy{Delay: 30 * time.Second, Window: 10 * time.Minute, MaxAttempts: 3, Retry: 2 * time.Minute}

func newStore(t *testing.T) (*Store, *clocktest.Clock) {
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	return NewStore(rdb, "t:", policy, clk.Now), clk
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
		deadline := time.Now().Add(5 * time.Second)
		for {
			cb, _ := st.Get(ctx, "1")
			if cb.Status == want && cb.Attempts == attempts {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("callback %+v, want %s after %d attempts", cb, want, attempts)
			}
			time.Sleep(10 * time.Millisecond)
		}
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
