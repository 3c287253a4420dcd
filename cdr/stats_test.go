package cdr

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/policy"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 0.01 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func ratio(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// Queue figures by interval: offered, answered, abandoned and 接通率.
func TestStatsFromRecords(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	write := func(r Record) {
		t.Helper()
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	write(answered("a", "13800138000", "2001", t0))                     // 10:00, answered after 15 s
	write(answered("b", "13800138001", "2002", t0.Add(29*time.Minute))) // 10:29, same interval
	late := answered("c", "13800138002", "2001", t0.Add(31*time.Minute))
	late.AgentAnswer = late.QueueJoin.Add(40 * time.Second) // 10:31, answered after 40 s
	write(late)
	write(Record{CallID: "d", Kind: KindInbound, Phone: "13800138003", Start: t0.Add(32 * time.Minute),
		QueueJoin: t0.Add(33 * time.Minute), End: t0.Add(35 * time.Minute), Queue: "fault", Outcome: "abandoned"})
	write(Record{CallID: "e", Kind: KindFollowUp, Phone: "13800138004", Start: t0.Add(40 * time.Minute),
		End: t0.Add(41 * time.Minute), Outcome: "self_service"})

	rep, err := s.Stats(ctx, t0.Add(10*time.Minute), t0.Add(time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Since.Equal(t0) || len(rep.Intervals) != 2 || rep.IntervalS != 1800 {
		t.Fatalf("since %s, %d intervals of %v s: since moves back to its interval's start", rep.Since, len(rep.Intervals), rep.IntervalS)
	}
	first, second := rep.Intervals[0].Calls, rep.Intervals[1].Calls
	if first.Offered != 2 || first.Answered != 2 || first.AnsweredSL != 2 || ratio(first.AnswerRate) != 1 {
		t.Fatalf("10:00 %+v", first)
	}
	if second.Calls != 3 || second.Offered != 2 || second.Answered != 1 || second.Abandoned != 1 || second.AnsweredSL != 0 {
		t.Fatalf("10:30 %+v", second)
	}
	near(t, "10:30 answer rate", ratio(second.AnswerRate), 0.5)
	if rep.Calls.Calls != 5 || rep.Calls.Offered != 4 || rep.Calls.Answered != 3 {
		t.Fatalf("whole span %+v", rep.Calls)
	}
	near(t, "answer rate", ratio(rep.Calls.AnswerRate), 0.75)
	near(t, "avg talk", *rep.Calls.AvgTalkS, (120+120+95)/3.0)
	if len(rep.Queues) != 2 || rep.Queues[0].Name != "billing" || rep.Queues[1].Name != "fault" || ratio(rep.Queues[1].AnswerRate) != 0 {
		t.Fatalf("queues %+v", rep.Queues)
	}
	if len(rep.Agents) != 2 || rep.Agents[0].Agent != "2001" || rep.Agents[0].Calls != 2 {
		t.Fatalf("agents %+v", rep.Agents)
	}
	// An agent's own report holds only that agent.
	own, err := s.Stats(ctx, t0, t0.Add(time.Hour), "2002")
	if err != nil || len(own.Agents) != 1 || own.Agents[0].Calls != 1 || len(own.Queues) != 0 || own.Calls.Calls != 0 {
		t.Fatalf("own report %+v %v", own, err)
	}
	if _, err := s.Stats(ctx, t0, t0, ""); err == nil {
		t.Fatal("an empty span is refused")
	}
	if _, err := s.Stats(ctx, t0, t0.Add(32*24*time.Hour), ""); err == nil {
		t.Fatal("a span over 31 days is refused")
	}
}

// The fold turns a real agent's state changes into time per state, cut at
// interval boundaries, with pauses by reason and the calls rung and
// picked up, and remembers the agent's last call and its caller.
func TestFoldAgentTimes(t *testing.T) {
	s, rdb, clk := newStore(t)
	ctx := context.Background()
	clk.Add(-time.Hour) // 10:00
	clk.Add(20 * time.Minute)
	reg := agents.NewRegistry(rdb, "t:", clk.Now)
	reg.SetWrapUp(time.Minute)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Ensure(ctx, []string{"2001"}))
	must(reg.Login(ctx, "2001")) // 10:20 available
	clk.Add(5 * time.Minute)
	must(reg.Pause(ctx, "2001", "lunch")) // 10:25 paused (lunch) 10 min, across 10:30
	clk.Add(10 * time.Minute)
	must(reg.Ready(ctx, "2001")) // 10:35 available
	clk.Add(time.Minute)
	id, ok, err := reg.ClaimIdle(ctx, "call-1") // 10:36 ringing
	if err != nil || !ok || id != "2001" {
		t.Fatalf("claim %s %v %v", id, ok, err)
	}
	must(reg.Publish(ctx, "2001", agents.EventScreenPop, agents.ScreenPop{Agent: "2001", CallID: "call-1", Phone: "13800138000", TicketID: "20261122000005"}))
	clk.Add(5 * time.Second)
	must(reg.Answered(ctx, "2001", "call-1")) // 10:36:05 on call
	clk.Add(2 * time.Minute)
	must(reg.Release(ctx, "2001", "call-1", true)) // 10:38:05 wrap-up 1 min
	clk.Add(time.Minute)
	_, err = reg.EndWrapUps(ctx) // 10:39:05 available
	must(err)
	clk.Add(time.Minute)
	must(reg.Pause(ctx, "2001", "")) // 10:40:05 paused (break), still paused

	fold := s.NewFold(reg.EventsKey(), "r1", zerolog.Nop())
	n, err := fold.Once(ctx)
	if err != nil || n != 9 {
		t.Fatalf("folded %d events, %v; want 9 (8 states and a screen pop)", n, err)
	}
	// A second replica neither folds (lease) nor refolds (cursor).
	if n, err := s.NewFold(reg.EventsKey(), "r2", zerolog.Nop()).Once(ctx); err != nil || n != 0 {
		t.Fatalf("second replica folded %d, %v", n, err)
	}
	if n, err := fold.Once(ctx); err != nil || n != 0 {
		t.Fatalf("refolded %d, %v", n, err)
	}
	clk.Add(5 * time.Minute) // 10:45:05: the break so far is 5 min
	rep, err := s.Stats(ctx, t0, t0.Add(time.Hour), "2001")
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Agents[0]
	if a.Rung != 1 || a.PickedUp != 1 || ratio(a.AnswerRate) != 1 {
		t.Fatalf("rung %d picked up %d", a.Rung, a.PickedUp)
	}
	near(t, "talk", a.TalkS, 120)
	near(t, "wrap-up", a.WrapUpS, 60)
	near(t, "ringing", a.RingingS, 5)
	near(t, "available", a.AvailableS, 5*60+60+60)
	near(t, "lunch", a.PauseByReason["lunch"], 600)
	near(t, "break (still on)", a.PauseByReason["break"], 5*60)
	near(t, "paused", a.PausedS, 900)
	first := rep.Intervals[0].Agents
	near(t, "lunch before 10:30", first.PauseByReason["lunch"], 300)
	near(t, "lunch after 10:30", rep.Intervals[1].Agents.PauseByReason["lunch"], 300)

	last, ok, err := s.LastCall(ctx, "2001")
	if err != nil || !ok || last.CallID != "call-1" || last.Phone != "13800138000" || last.TicketID != "20261122000005" {
		t.Fatalf("last call %+v %v %v", last, ok, err)
	}
	if ok, _ := s.AgentHasTicket(ctx, "2001", "20261122000005"); !ok {
		t.Fatal("the work order of the agent's call (its screen pop's) is not the agent's")
	}
	// Once the call's record is written, it is the last call.
	r := answered("call-1", "13800138000", "2001", clk.Now().Add(-10*time.Minute))
	r.TicketID = "20261122000006"
	must(s.Write(ctx, r))
	if last, _, _ := s.LastCall(ctx, "2001"); last.TicketID != "20261122000006" {
		t.Fatalf("last call from the record %+v", last)
	}
}

// Another replica takes the fold over when the holder's lease runs out,
// and goes on from the cursor the first one left.
func TestFoldLeaseHandover(t *testing.T) {
	s, rdb, clk := newStore(t)
	ctx := context.Background()
	reg := agents.NewRegistry(rdb, "t:", clk.Now)
	if err := reg.Ensure(ctx, []string{"2001"}); err != nil {
		t.Fatal(err)
	}
	_ = reg.Login(ctx, "2001")
	a, b := s.NewFold(reg.EventsKey(), "a", zerolog.Nop()), s.NewFold(reg.EventsKey(), "b", zerolog.Nop())
	if n, _ := a.Once(ctx); n != 1 {
		t.Fatalf("a folded %d", n)
	}
	_ = reg.Pause(ctx, "2001", "lunch")
	if n, _ := b.Once(ctx); n != 0 {
		t.Fatalf("b folded %d while a holds the lease", n)
	}
	if ttl := rdb.PTTL(ctx, "t:stats:fold:lease").Val(); ttl <= 0 || ttl > a.Lease {
		t.Fatalf("lease expires in %s, want within %s", ttl, a.Lease)
	}
	rdb.Del(ctx, "t:stats:fold:lease") // a died: its lease ran out
	if n, err := b.Once(ctx); err != nil || n != 1 {
		t.Fatalf("b folded %d, %v; want the one event a left", n, err)
	}
	if st, _ := s.Agent(ctx, "2001"); st.State != "paused" || st.Reason != "lunch" {
		t.Fatalf("fold state %+v", st)
	}
}

// The service level counts the answers within the policy's mark.
func TestStatsServiceLevelFromPolicy(t *testing.T) {
	for _, tc := range []struct {
		within time.Duration
		want   int64
	}{{20 * time.Second, 1}, {10 * time.Second, 0}, {time.Minute, 2}} {
		s, _, _ := newStore(t)
		s.SetServiceLevel(policy.ServiceLevel{Within: tc.within, AlsoWithin: 2 * tc.within})
		ctx := context.Background()
		quick := answered("a", "13800138000", "2001", t0) // answered after 15 s
		slow := answered("b", "13800138001", "2002", t0.Add(time.Minute))
		slow.AgentAnswer = slow.QueueJoin.Add(40 * time.Second)
		for _, r := range []Record{quick, slow} {
			if err := s.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := s.Stats(ctx, t0, t0.Add(30*time.Minute), "")
		if err != nil || len(rep.Intervals) != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
		if got := rep.Intervals[0].Calls.AnsweredSL; got != tc.want {
			t.Errorf("within %s: %d answered in the service level, want %d", tc.within, got, tc.want)
		}
	}
}
