package callflow

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
)

type fakeRecords struct {
	mu   sync.Mutex
	recs []cdr.Record
	err  error
	// hungUp: whether the call was already hung up when its record was
	// written (hang up first).
	hungUp []bool
	sw     interface{ IsHungUp(string) bool }
}

func (f *fakeRecords) Write(ctx context.Context, r cdr.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, r)
	f.hungUp = append(f.hungUp, f.sw.IsHungUp(r.CallID))
	return f.err
}

// tick is a clock that moves a second on every reading.
func tick(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func TestEveryCallLeavesOneRecord(t *testing.T) {
	agentAt := testNow.Add(30 * time.Second)
	for _, tc := range []struct {
		name   string
		script map[string][]string
		setup  func(*rig)
		run    func(*rig)
		check  func(t *testing.T, r cdr.Record)
	}{
		{name: "inbound, complaint, agent hangs up first",
			setup:  func(r *rig) { r.queue.agent, r.queue.answered, r.queue.agentHungUp = "2001", agentAt, true },
			script: map[string][]string{"main_menu": {"3"}},
			run:    func(r *rig) { r.run("13800138000") },
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Kind != cdr.KindInbound || rec.Phone != "13800138000" || rec.MenuPath != "3" ||
					rec.Queue != "complaint" || rec.Agent != "2001" || !rec.AgentAnswer.Equal(agentAt) ||
					rec.Outcome != metrics.EndAgent || rec.EndReason != EndByAgent || rec.TicketID != "20261122000001" {
					t.Fatalf("record %+v", rec)
				}
				if !rec.Start.Before(rec.Answer) || !rec.Answer.Before(rec.QueueJoin) || !rec.QueueJoin.Before(rec.End) {
					t.Fatalf("times start %s answer %s join %s end %s", rec.Start, rec.Answer, rec.QueueJoin, rec.End)
				}
			}},
		{name: "inbound, caller hangs up in the menu",
			script: map[string][]string{"main_menu": {"hangup"}},
			run:    func(r *rig) { r.run("13800138000") },
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Outcome != metrics.EndHangupMenu || rec.EndReason != EndByCaller || !rec.QueueJoin.IsZero() ||
					rec.Queue != "" || rec.Agent != "" || rec.Answer.IsZero() {
					t.Fatalf("record %+v", rec)
				}
			}},
		{name: "inbound, fault report, the hotline says goodbye",
			script: map[string][]string{"main_menu": {"1"}},
			run:    func(r *rig) { r.run("13800138000") },
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Outcome != metrics.EndSelfService || rec.EndReason != EndByHotline || rec.TicketID != "20261122000001" {
					t.Fatalf("record %+v", rec)
				}
			}},
		{name: "inbound, abandoned in the queue",
			setup:  func(r *rig) { r.queue.outcome = hold.Abandoned },
			script: map[string][]string{"main_menu": {"0"}},
			run:    func(r *rig) { r.run("13800138000") },
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Outcome != metrics.EndAbandoned || rec.Queue != "general" || rec.QueueJoin.IsZero() ||
					rec.Agent != "" || !rec.AgentAnswer.IsZero() {
					t.Fatalf("record %+v", rec)
				}
			}},
		{name: "inbound from a number that is not a phone number keeps its record",
			script: map[string][]string{"main_menu": {"hangup"}},
			run:    func(r *rig) { r.run("sipp") },
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Phone != "" || rec.Outcome != metrics.EndHangupMenu {
					t.Fatalf("record %+v", rec)
				}
			}},
		{name: "callback answered by an agent",
			setup: func(r *rig) { r.queue.agent, r.queue.answered = "2002", agentAt },
			run: func(r *rig) {
				r.flow.Callback(context.Background(), ivr.NewSession(r.sw, "call1", zerolog.Nop()),
					callbacks.Callback{ID: "77", Phone: "13800138000", TicketID: "20261122000009", CreatedAt: testNow.Add(-time.Hour)})
			},
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Kind != cdr.KindCallback || rec.CallbackID != "77" || rec.Queue != "callback" || rec.Agent != "2002" ||
					rec.Outcome != metrics.EndAgent || rec.TicketID != "20261122000009" || rec.MenuPath != "callback" {
					t.Fatalf("record %+v", rec)
				}
				// This call's queue join, not the customer's earlier place.
				if rec.QueueJoin.Before(rec.Start) {
					t.Fatalf("queue join %s before the call's start %s", rec.QueueJoin, rec.Start)
				}
			}},
		{name: "follow-up",
			run: func(r *rig) {
				r.flow.FollowUp(context.Background(), ivr.NewSession(r.sw, "call1", zerolog.Nop()),
					callbacks.Callback{ID: "9", Phone: "13800138000", TicketID: "20261122000003", Kind: callbacks.KindFollowUp})
			},
			check: func(t *testing.T, rec cdr.Record) {
				if rec.Kind != cdr.KindFollowUp || rec.CallbackID != "9" || rec.TicketID != "20261122000003" ||
					rec.Outcome != metrics.EndSelfService {
					t.Fatalf("record %+v", rec)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.script == nil {
				tc.script = map[string][]string{}
			}
			r := newRig(tc.script)
			r.flow.cfg.Now = tick(testNow)
			recs := &fakeRecords{sw: r.sw}
			r.flow.SetRecords(recs, "replica-a")
			if tc.setup != nil {
				tc.setup(r)
			}
			tc.run(r)
			if len(recs.recs) != 1 {
				t.Fatalf("%d records written, want 1", len(recs.recs))
			}
			rec := recs.recs[0]
			if rec.CallID != "call1" || rec.Replica != "replica-a" || rec.Start.IsZero() || rec.End.Before(rec.Start) {
				t.Fatalf("record %+v", rec)
			}
			if !recs.hungUp[0] && rec.EndReason != EndByCaller {
				t.Fatal("the record was written before the call was hung up")
			}
			tc.check(t, rec)
		})
	}
}

// A record that cannot be written is logged and counted; the call still ends.
func TestRecordWriteFailureDoesNotBreakTheEnd(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRig(map[string][]string{"main_menu": {"1"}})
	r.flow.m = metrics.New(reg)
	recs := &fakeRecords{sw: r.sw, err: errors.New("redis: connection refused")}
	r.flow.SetRecords(recs, "")
	r.run("13800138000")
	if len(recs.recs) != 1 || !r.sw.IsHungUp("call1") {
		t.Fatalf("records %d, hung up %v", len(recs.recs), r.sw.IsHungUp("call1"))
	}
	if n := counter(r.flow.m.RedisErrors.WithLabelValues("cdr_write")); n != 1 {
		t.Fatalf("cdr_write errors %v, want 1", n)
	}
}

// The records the flow writes are ones the real store takes (a record it
// refused would be lost at every call's end).
func TestRecordsAreValidForTheStore(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	store := cdr.New(rdb, "t:", policy.Default().Records(), func() time.Time { return testNow.Add(time.Hour) })
	r := newRig(map[string][]string{"main_menu": {"3"}})
	r.flow.cfg.Now = tick(testNow)
	r.queue.agent, r.queue.answered, r.queue.agentHungUp = "2001", testNow.Add(6*time.Second), true
	r.flow.SetRecords(store, "replica-a")
	r.run("13800138000")
	rec, err := store.Get(context.Background(), "call1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Agent != "2001" || rec.Queue != "complaint" || rec.Outcome != metrics.EndAgent || rec.EndReason != EndByAgent ||
		rec.TicketID != "20261122000001" || rec.Talk() <= 0 || rec.Wait() <= 0 {
		t.Fatalf("stored record %+v", rec)
	}
}
