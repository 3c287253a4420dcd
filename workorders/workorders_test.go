package workorders

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Monday 2026-11-23 10:00 in China: a plain working day.
var monday = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

func newService(t *testing.T, replica string, rdb redis.UniversalClient, clk *clocktest.Clock) *Service {
	t.Helper()
	ts := tickets.New(rdb, "t:", clk.Now)
	pol := policy.Default()
	ts.SetTaxonomy(pol)
	cb := callbacks.NewStore(rdb, "t:", pol.Callbacks(), clk.Now)
	return New(ts, pol, cb, outages.New(rdb, "t:", clk.Now), rdb, "t:", replica,
		Config{WatchEvery: time.Second}, metrics.Discard(), zerolog.Nop(), clk.Now)
}

func complaint(t *testing.T, s *Service) tickets.Ticket {
	t.Helper()
	tk, err := s.Create(context.Background(), tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Phone: "13800138000",
		Named: true, Class: "service", Subject: "staff_attitude"})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// Deadlines come from the policy file: a complaint is contacted within 24 h
// and answered within 4 working days; it starts on the ladder's first rung.
func TestCreateStampsDeadlines(t *testing.T) {
	clk := clocktest.New(monday)
	s := newService(t, "a", redistest.Start(t).Client(t), clk)
	tk := complaint(t, s)
	if !tk.ContactBy.Equal(monday.Add(24*time.Hour)) || !tk.AnswerBy.Equal(monday.AddDate(0, 0, 4)) {
		t.Fatalf("contact by %s, answer by %s", tk.ContactBy, tk.AnswerBy)
	}
	if tk.EscalationLevel != "staff" || tk.Grade != "V" {
		t.Fatalf("level %s grade %s", tk.EscalationLevel, tk.Grade)
	}
}

// Nobody acts: each missed deadline moves the complaint one rung up, with a
// fresh deadline for that rung, and the audit trail says why.
func TestWatcherClimbsTheLadder(t *testing.T) {
	clk := clocktest.New(monday)
	s := newService(t, "a", redistest.Start(t).Client(t), clk)
	ctx := context.Background()
	tk := complaint(t, s)
	want := []struct{ level, grade string }{{"technician", "V"}, {"station_head", "V"}, {"service_centre", "IV"}, {"marketing", "III"}, {"leadership", "I"}}
	for i, w := range want {
		// Past every deadline the ticket has now.
		got, _ := s.Get(ctx, tk.ID)
		clk.Add(got.AnswerBy.Sub(clk.Now()) + time.Minute)
		if got.ContactBy.After(clk.Now()) {
			clk.Add(got.ContactBy.Sub(clk.Now()) + time.Minute)
		}
		if err := s.WatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx, tk.ID)
		if got.EscalationLevel != w.level || got.Grade != w.grade {
			t.Fatalf("step %d: level %s grade %s, want %s %s", i, got.EscalationLevel, got.Grade, w.level, w.grade)
		}
		last := got.Audit[len(got.Audit)-1]
		if w.level == "leadership" { // then the leadership's call back is noted
			last = got.Audit[len(got.Audit)-2]
		}
		if last.Action != string(tickets.ActionEscalate) || !strings.Contains(last.Note, "passed") {
			t.Fatalf("audit %+v", last)
		}
		// A second pass before the new deadline does nothing.
		if err := s.WatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Get(ctx, tk.ID); again.EscalationLevel != w.level {
			t.Fatalf("escalated twice for one missed deadline: %s", again.EscalationLevel)
		}
	}
	// At the top of the ladder it is supervised (督办) instead.
	got, _ := s.Get(ctx, tk.ID)
	clk.Add(got.AnswerBy.Sub(clk.Now()) + time.Minute)
	if err := s.WatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WatchOnce(ctx); err != nil { // before the new deadline: nothing
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, tk.ID)
	if got.SuperviseCount != 1 || got.EscalationLevel != "leadership" {
		t.Fatalf("at the top: supervise %d level %s", got.SuperviseCount, got.EscalationLevel)
	}
}

// Two replicas: only the holder of the watcher lease escalates.
func TestOneWatcherAtATime(t *testing.T) {
	clk := clocktest.New(monday)
	rdb := redistest.Start(t).Client(t)
	a, b := newService(t, "a", rdb, clk), newService(t, "b", rdb, clk)
	ctx := context.Background()
	tk := complaint(t, a)
	clk.Add(5 * 24 * time.Hour)
	if err := a.WatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.WatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := a.Get(ctx, tk.ID)
	n := 0
	for _, e := range got.Audit {
		if e.Action == string(tickets.ActionEscalate) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("escalated %d times", n)
	}
}

func TestFollowUp(t *testing.T) {
	for _, satisfied := range []bool{true, false} {
		clk := clocktest.New(monday)
		s := newService(t, "a", redistest.Start(t).Client(t), clk)
		ctx := context.Background()
		tk := complaint(t, s)
		for _, c := range []tickets.Change{
			{Action: tickets.ActionRegister}, {Action: tickets.ActionAssign, AssignTo: "zhang"},
			{Action: tickets.ActionStart}, {Action: tickets.ActionInvestigate, Cause: "态度生硬", Measure: "服务规范培训"},
			{Action: tickets.ActionResolve, Result: "explained"},
		} {
			c.Actor = "test"
			if _, err := s.Apply(ctx, tk.ID, c); err != nil {
				t.Fatalf("%s: %v", c.Action, err)
			}
		}
		got, _ := s.Get(ctx, tk.ID)
		if got.Status != tickets.StatusFollowUp {
			t.Fatalf("resolved ticket is %s", got.Status)
		}
		cbs, _ := s.Callbacks.ListByPhone(ctx, "13800138000", 5)
		if len(cbs) != 1 || cbs[0].Kind != callbacks.KindFollowUp || cbs[0].TicketID != tk.ID ||
			cbs[0].Deadline.Sub(cbs[0].CreatedAt) != 10*time.Minute {
			t.Fatalf("follow-up callback %+v", cbs)
		}
		got, err := s.FollowUpAnswered(ctx, tk.ID, satisfied)
		if err != nil {
			t.Fatal(err)
		}
		if satisfied && (got.Status != tickets.StatusClosed || got.FollowUp != "satisfied") {
			t.Fatalf("satisfied: %+v", got)
		}
		if !satisfied && (got.Status != tickets.StatusInProgress || got.FollowUp != "unsatisfied" || got.EscalationLevel != "technician") {
			t.Fatalf("unsatisfied: status %s follow-up %s level %s", got.Status, got.FollowUp, got.EscalationLevel)
		}
	}
}

// Declaring an outage opens its parent work order; reports attach to it.
func TestOutageParent(t *testing.T) {
	clk := clocktest.New(monday)
	s := newService(t, "a", redistest.Start(t).Client(t), clk)
	ctx := context.Background()
	o, err := s.DeclareOutage(ctx, outages.Outage{Kind: outages.KindFault, Transformer: "TX-0101", DeclaredBy: "ops"})
	if err != nil || o.ParentTicket == "" {
		t.Fatalf("declare: %+v %v", o, err)
	}
	child, err := s.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Channel: "95598", Phone: "13800138000", ParentID: o.ParentTicket})
	if err != nil {
		t.Fatal(err)
	}
	parent, _ := s.Get(ctx, o.ParentTicket)
	if len(parent.Children) != 1 || parent.Children[0] != child.ID {
		t.Fatalf("parent children %v", parent.Children)
	}
	if _, err := s.ClearOutage(ctx, o.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.OutageFor(ctx, "", "TX-0101"); ok {
		t.Fatal("cleared outage still told to callers")
	}
}

// An unhappy customer on a fault report: reopened and supervised, since
// only complaints carry grades.
func TestUnhappyFaultIsSupervised(t *testing.T) {
	clk := clocktest.New(monday)
	s := newService(t, "a", redistest.Start(t).Client(t), clk)
	ctx := context.Background()
	tk, err := s.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Channel: "95598", Phone: "13800138000", Named: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []tickets.Change{
		{Action: tickets.ActionRegister}, {Action: tickets.ActionAssign, AssignTo: "crew-3"},
		{Action: tickets.ActionStart}, {Action: tickets.ActionResolve, Result: "power_restored"},
	} {
		c.Actor = "test"
		if _, err := s.Apply(ctx, tk.ID, c); err != nil {
			t.Fatalf("%s: %v", c.Action, err)
		}
	}
	got, err := s.FollowUpAnswered(ctx, tk.ID, false)
	if err != nil || got.Status != tickets.StatusInProgress || got.SuperviseCount != 1 {
		t.Fatalf("unhappy fault: %+v %v", got, err)
	}
}
