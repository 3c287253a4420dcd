package recovery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callflow"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/queue"
)

// lostCalls records what recovery hands to the cut-off rule.
type lostCalls struct {
	mu   sync.Mutex
	list map[string]callflow.LostCall
	n    int // how many times the rule was applied
}

func (l *lostCalls) CutOff(ctx context.Context, c callflow.LostCall) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.list == nil {
		l.list = map[string]callflow.LostCall{}
	}
	l.list[c.CallID] = c
	l.n++
	return "cb"
}

type rig struct {
	rec  *Recovery
	sw   *ivrtest.Switch
	line *queue.Queue
	lost *lostCalls
	new  func(replica string) *Recovery // another replica on the same Redis
}

func newRig(t *testing.T) *rig {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	reg := agents.NewRegistry(rdb, "t:", nil)
	line := queue.New(rdb, "t:", reg, policy.Default().Queues(), 200*time.Millisecond, metrics.Discard())
	sw := ivrtest.New()
	r := &rig{sw: sw, line: line, lost: &lostCalls{}}
	r.new = func(replica string) *Recovery {
		rec := New(rdb, "t:", replica, sw, line, metrics.Discard(), zerolog.Nop())
		rec.SetCutOffs(r.lost)
		return rec
	}
	r.rec = r.new("me")
	return r
}

// own records a call as owned by a replica (as its call flow does), with
// the work order the call produced; the replica is alive when it ticks.
func (r *rig) own(rec *Recovery, id, phone, ticket string) {
	ctx := context.Background()
	rec.Calls().Start(ctx, id, phone)
	if ticket != "" {
		rec.Calls().Attach(ctx, id, ticket)
	}
}

// After a restart, calls this replica owned before are orphans: hung up and
// handed to the cut-off rule with their phone and work order. Calls of a
// live replica, and channels too young to have reached their owner, are
// left alone.
func TestReconcileOrphans(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	before := r.new("me") // this replica before its restart
	r.own(before, "mine", "13800138000", "T1")
	live, dead := r.new("r2"), r.new("r3")
	r.own(live, "theirs", "13900139000", "")
	r.own(dead, "dead", "13700137000", "")
	live.Tick(ctx, false) // r2 is alive; r3 never said so
	old := time.Now().Add(-time.Minute)
	r.sw.SetChannels(
		ivr.ChannelInfo{ID: "mine", State: "Up", CallerNum: "13800138000", Created: old},
		ivr.ChannelInfo{ID: "mine-agent-1", State: "Up", Created: old},
		ivr.ChannelInfo{ID: "theirs", State: "Up", CallerNum: "13900139000", Created: old},
		ivr.ChannelInfo{ID: "dead", State: "Up", CallerNum: "13700137000", Created: old},
		ivr.ChannelInfo{ID: "young", State: "Up", CallerNum: "13600136000", Created: time.Now()},
		// A callback still ringing: not answered, so not an orphan.
		ivr.ChannelInfo{ID: "cb-9-1", State: "Ring", CallerNum: "95598", Created: old},
		// An answered callback leg nobody owns: hung up, but 95598 is never called back.
		ivr.ChannelInfo{ID: "cb-8-1", State: "Up", CallerNum: "95598", Created: old},
	)
	r.rec.Reconcile(ctx, true)
	for id, want := range map[string]bool{"mine": true, "mine-agent-1": true, "dead": true, "theirs": false, "young": false, "cb-9-1": false, "cb-8-1": true} {
		if r.sw.IsHungUp(id) != want {
			t.Errorf("%s hung up = %v, want %v", id, !want, want)
		}
	}
	want := map[string]callflow.LostCall{
		"mine":   {CallID: "mine", Phone: "13800138000", Ticket: "T1", By: "a controller restart", Detail: "hung up by recovery"},
		"dead":   {CallID: "dead", Phone: "13700137000", By: "a controller restart", Detail: "hung up by recovery"},
		"cb-8-1": {CallID: "cb-8-1", By: "a controller restart", Detail: "hung up by recovery"}, // no phone: 95598 is ours
	}
	if len(r.lost.list) != len(want) {
		t.Fatalf("lost calls %+v, want %+v", r.lost.list, want)
	}
	for id, w := range want {
		if got := r.lost.list[id]; got != w {
			t.Errorf("%s: %+v, want %+v", id, got, w)
		}
	}
}

// A local call whose channel vanished while ARI was disconnected is ended,
// with the cause that it was cut off.
func TestReconnectEndsVanishedCalls(t *testing.T) {
	r := newRig(t)
	ctx, done := r.rec.Calls().Start(context.Background(), "gone", "13800138000")
	defer done()
	r.sw.SetChannels()
	r.rec.Reconcile(context.Background(), true)
	select {
	case <-ctx.Done():
		if context.Cause(ctx) != ivr.ErrCutOff {
			t.Fatalf("cause %v", context.Cause(ctx))
		}
	case <-time.After(time.Second):
		t.Fatal("call whose channel vanished is still running")
	}
}

// A dead replica's caller who was waiting for an agent keeps their place
// (the rule gets it) and leaves the line; a caller still in the menu has no
// place.
func TestOrphanKeepsQueuePlace(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	gone := r.new("gone")
	r.own(gone, "waiting", "13800138000", "T1")
	r.own(gone, "in-menu", "13900139000", "")
	joined := time.Now().Add(-3 * time.Minute).Truncate(time.Millisecond)
	if err := r.line.Join(ctx, queue.Caller{CallID: "waiting", Queue: "general", Joined: joined}); err != nil {
		t.Fatal(err)
	}
	r.rec.Reconcile(ctx, false) // found through the dead replica's index
	w := r.lost.list["waiting"]
	if w.Place == nil || w.Place.Queue != "general" || !w.Place.Joined.Equal(joined) || w.Ticket != "T1" {
		t.Fatalf("waiting caller: %+v (place %+v)", w, w.Place)
	}
	if m := r.lost.list["in-menu"]; m.Place != nil || m.Phone != "13900139000" {
		t.Fatalf("caller in the menu: %+v", m)
	}
	if n, _ := r.line.Waiting(ctx, "general"); n["general"] != 0 {
		t.Fatalf("the orphan still counts as waiting: %v", n)
	}
	if _, ok, _ := r.line.PlaceOf(ctx, "waiting"); ok {
		t.Fatal("the orphan's place is still on record")
	}
}

// A dead replica's calls are in its own ARI application, which ours does
// not list: they are found through the replica's call index in Redis, and
// followed up once even with several live replicas sweeping.
func TestSweepDeadReplicaCalls(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	b, c := r.new("b"), r.new("c")
	r.own(b, "b-1", "13800138000", "")
	r.own(b, "b-2", "13900139000", "")
	r.own(c, "c-1", "13700137000", "")
	c.Tick(ctx, false) // c is alive, b is dead
	r.own(b, "b-expired", "13600136000", "")
	b.Calls().rdb.Del(ctx, b.Calls().key("b-expired")) // its record expired: nobody to call
	other := r.new("me2")                              // another live replica sweeping too
	r.sw.SetChannels()                                 // nothing in our own application
	r.rec.Reconcile(ctx, false)
	other.Reconcile(ctx, false)
	for id, want := range map[string]bool{"b-1": true, "b-2": true, "b-expired": true, "c-1": false} {
		if r.sw.IsHungUp(id) != want {
			t.Errorf("%s hung up = %v, want %v", id, !want, want)
		}
	}
	if r.lost.n != 2 || r.lost.list["b-1"].Phone != "13800138000" || r.lost.list["b-2"].Phone != "13900139000" {
		t.Fatalf("lost calls %+v", r.lost.list)
	}
	if n, _ := b.Calls().rdb.SCard(ctx, b.Calls().ownedKey("b")).Result(); n != 0 {
		t.Errorf("dead replica's index still holds %d calls", n)
	}
	r.rec.Reconcile(ctx, false)
	if ok, _ := b.Calls().rdb.SIsMember(ctx, b.Calls().replicasKey(), "b").Result(); ok {
		t.Error("a dead replica with no calls left is still listed")
	}
}

// Asterisk unreachable for HOTLINE_SWITCH_LOST_AFTER (a dead node): every
// local call ends as cut off, so the call flow promises its callback
// (keeping the place of a caller who was waiting). A shorter outage ends
// nothing. Should Asterisk have survived, the given-up call's channels are
// hung up on reconnect without a second promise.
func TestSwitchLostEndsCallsOnce(t *testing.T) {
	cases := []struct {
		name     string
		lost     time.Duration // 0: the rule off
		downFor  time.Duration
		wantEnds bool
	}{
		{"down past the bound", 10 * time.Second, 10 * time.Second, true},
		{"a blip", 10 * time.Second, 9 * time.Second, false},
		{"rule off", 0, time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			now := time.Now()
			r.rec.now = func() time.Time { return now }
			r.rec.SetSwitchLostAfter(tc.lost)
			ctx, done := r.rec.Calls().Start(context.Background(), "waiting", "13800138000")
			defer done()
			r.rec.Tick(context.Background(), false) // first seen down
			now = now.Add(tc.downFor)
			r.rec.Tick(context.Background(), false)
			ended := ctx.Err() != nil
			if ended != tc.wantEnds {
				t.Fatalf("call ended = %v, want %v", ended, tc.wantEnds)
			}
			if !ended {
				return
			}
			if context.Cause(ctx) != ivr.ErrCutOff {
				t.Fatalf("cause %v, want the cut-off", context.Cause(ctx))
			}
			done() // the call's goroutine ends; the flow applied the cut-off rule
			old := time.Now().Add(-time.Minute)
			r.sw.SetChannels(ivr.ChannelInfo{ID: "waiting", State: "Up", CallerNum: "13800138000", Created: old},
				ivr.ChannelInfo{ID: "waiting-agent-1", State: "Up", Created: old})
			r.rec.Reconcile(context.Background(), true)
			if !r.sw.IsHungUp("waiting") || !r.sw.IsHungUp("waiting-agent-1") {
				t.Fatal("the given-up call's channels are still up after the reconnect")
			}
			if r.lost.n != 0 {
				t.Fatalf("recovery promised again: %+v", r.lost.list)
			}
		})
	}
}
