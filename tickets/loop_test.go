package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var taxonomy = fakeTaxonomy{"service": {"staff_attitude"}, "business": {"wrong_meter_reading"},
	"report": {"electricity_theft", "other"}}

func apply(t *testing.T, s *Store, id string, c Change) Ticket {
	t.Helper()
	if c.Actor == "" {
		c.Actor = "agent:1001"
	}
	tk, err := s.Apply(context.Background(), id, c)
	if err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
	return tk
}

// An IVR complaint arrives without a class; an agent classifies it, and the
// change is in the audit trail. Reports take a report subject only; other
// types and unknown names are refused with the reason.
func TestClassify(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	s.SetTaxonomy(taxonomy)
	c, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	got := apply(t, s, c.ID, Change{Action: ActionClassify, Class: "service", Subject: "staff_attitude", Grade: GradeIV})
	e := got.Audit[len(got.Audit)-1]
	if got.Class != "service" || got.Subject != "staff_attitude" || got.Grade != GradeIV ||
		e.Action != "classify" || e.From != "" || e.To != "service/staff_attitude IV" {
		t.Fatalf("classified %+v, audit %+v", got, e)
	}
	r, err := s.Create(ctx, Ticket{Type: TypeReport, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if got := apply(t, s, r.ID, Change{Action: ActionClassify, Subject: "electricity_theft"}); got.Subject != "electricity_theft" || got.Class != "" {
		t.Fatalf("report classified %+v", got)
	}
	f, _ := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	for name, tc := range map[string]struct {
		id   string
		c    Change
		want string
	}{
		"fault":              {f.ID, Change{Class: "service", Subject: "staff_attitude"}, "only complaints and reports"},
		"unknown class":      {c.ID, Change{Class: "staff", Subject: "staff_attitude"}, `unknown complaint class "staff"`},
		"subject of another": {c.ID, Change{Class: "business", Subject: "staff_attitude"}, `"staff_attitude" is not a complaint subject of class "business"`},
		"class alone":        {c.ID, Change{Class: "business"}, "class and subject go together"},
		"report with class":  {r.ID, Change{Class: "service", Subject: "other"}, "has no complaint class"},
		"report grade":       {r.ID, Change{Subject: "other", Grade: GradeV}, "only complaints are graded"},
		"report unknown":     {r.ID, Change{Subject: "theft"}, `unknown report subject "theft"`},
		"nothing":            {c.ID, Change{}, "classify needs"},
		"same again":         {c.ID, Change{Class: "service", Subject: "staff_attitude"}, "already classified"},
	} {
		tc.c.Action, tc.c.Actor = ActionClassify, "a"
		if _, err := s.Apply(ctx, tc.id, tc.c); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// Creating a report checks its subject too.
	if _, err := s.Create(ctx, Ticket{Type: TypeReport, Phone: "13800138000", Subject: "theft"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("report with an unknown subject: %v", err)
	}
	if _, err := s.Create(ctx, Ticket{Type: TypeReport, Phone: "13800138000", Class: "service", Subject: "other"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("report with a class: %v", err)
	}
}

// 四不放过: a complaint is closed only with its root cause and corrective
// measure; other orders close without.
func TestNoCloseWithoutCauseAndMeasure(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	c := newComplaint(t, s)
	for _, ch := range pathTo[StatusResolved] {
		if ch.Action != ActionInvestigate {
			apply(t, s, c.ID, ch)
		}
	}
	_, err := s.Apply(ctx, c.ID, Change{Action: ActionClose, Actor: "a"})
	if !errors.Is(err, ErrIllegalTransition) || !strings.Contains(err.Error(), "四不放过: record its root cause and corrective measure") {
		t.Fatalf("close without cause: %v", err)
	}
	if _, err := s.Apply(ctx, c.ID, Change{Action: ActionInvestigate, Actor: "a", Cause: "估抄"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("investigate without a measure: %v", err)
	}
	got := apply(t, s, c.ID, Change{Action: ActionInvestigate, Cause: "估抄", Measure: "复核", Note: "调查报告全文"})
	if got.Cause != "估抄" || got.Measure != "复核" || got.InvestigatedAt.IsZero() {
		t.Fatalf("investigated %+v", got)
	}
	if got = apply(t, s, c.ID, Change{Action: ActionClose}); got.Status != StatusClosed {
		t.Fatalf("close after investigation: %s", got.Status)
	}
	f, _ := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	for _, ch := range pathTo[StatusResolved] {
		if ch.Action != ActionInvestigate {
			apply(t, s, f.ID, ch)
		}
	}
	if got := apply(t, s, f.ID, Change{Action: ActionClose}); got.Status != StatusClosed {
		t.Fatalf("fault close: %s", got.Status)
	}
}

// The other closed-loop steps record what they say, in the audit trail.
func TestLoopSteps(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	c, _ := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Channel: Channel95598,
		Deadlines: []Deadline{{Kind: DeadlineVerify, Group: GroupLimit, Due: start.Add(time.Hour)},
			{Kind: DeadlineProgress, Group: GroupLimit, Due: start.Add(72 * time.Hour)}}})
	if _, err := s.Apply(ctx, c.ID, Change{Action: ActionPropose, Actor: "a", Note: "x"}); !errors.Is(err, ErrIllegalTransition) ||
		!strings.Contains(err.Error(), "register it first") {
		t.Errorf("propose before registration: %v", err)
	}
	got := apply(t, s, c.ID, Change{Action: ActionVerify, Responsibility: ResponsibilityCustomer})
	if got.Responsibility != "customer" || got.VerifiedAt.IsZero() || got.Deadlines[0].State(got.UpdatedAt) != StateMet {
		t.Fatalf("verify: %+v", got)
	}
	apply(t, s, c.ID, Change{Action: ActionRegister})
	if got = apply(t, s, c.ID, Change{Action: ActionPropose, Note: "拟派东区所"}); got.Proposal != "拟派东区所" {
		t.Fatalf("proposal %q", got.Proposal)
	}
	if got = apply(t, s, c.ID, Change{Action: ActionProgress, Note: "已告知进度"}); got.ProgressAt.IsZero() || got.Deadlines[1].MetAt.IsZero() {
		t.Fatalf("progress: %+v", got.Deadlines)
	}
	if got = apply(t, s, c.ID, Change{Action: ActionWarn, Note: "客户扬言投诉12398"}); got.WarnedAt.IsZero() {
		t.Fatal("warn not recorded")
	}
	if _, err := s.Apply(ctx, c.ID, Change{Action: ActionDecide, Actor: "a", Decision: DecisionAverted}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "was not averted") {
		t.Errorf("averted on a 95598 complaint: %v", err)
	}
	if got = apply(t, s, c.ID, Change{Action: ActionDecide, Decision: DecisionMalicious, Note: "恶意投诉"}); got.Decision != DecisionMalicious {
		t.Fatalf("decision %q", got.Decision)
	}
	for _, bad := range []Change{
		{Action: ActionVerify, Responsibility: "nobody"},
		{Action: ActionContact},
		{Action: ActionDecide, Decision: "maybe"},
		{Action: ActionNote, Note: "x", Cause: "y"},
	} {
		bad.Actor = "a"
		if _, err := s.Apply(ctx, c.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	f, _ := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if _, err := s.Apply(ctx, f.ID, Change{Action: ActionVerify, Actor: "a", Responsibility: "utility"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("verify a fault: %v", err)
	}
}

// Every deadline ever set stays, with whether it was met: a rung's deadline
// and a reclassification do not erase the original ones, and Original
// finds them.
func TestDeadlinesKept(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	contact, answer := start.Add(24*time.Hour), start.Add(96*time.Hour)
	c, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", ContactBy: contact, AnswerBy: answer})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Deadlines) != 2 || c.NextDeadline() != contact {
		t.Fatalf("deadlines %+v next %s", c.Deadlines, c.NextDeadline())
	}
	// The contact deadline passes; the watcher escalates with the rung's deadline.
	clk.Set(contact.Add(time.Minute))
	rung := contact.Add(25 * time.Hour)
	got := apply(t, s, c.ID, Change{Action: ActionEscalate, Actor: SystemActor, Level: "technician", Note: "contact missed", EndMissed: true,
		Deadlines: []Deadline{{Kind: DeadlineAnswer, Group: GroupRung, Level: "technician", Due: rung}}})
	if got.AnswerBy != answer || got.ContactBy != contact || got.NextDeadline() != rung {
		t.Fatalf("after escalation answer by %s contact by %s next %s", got.AnswerBy, got.ContactBy, got.NextDeadline())
	}
	now := clk.Now()
	if st := got.Deadlines[0].State(now); st != StateMissed {
		t.Errorf("contact deadline %s, want missed", st)
	}
	if o, ok := got.Original(DeadlineAnswer); !ok || o.Due != answer || o.State(now) != StatePending {
		t.Errorf("original answer %+v %v", o, ok)
	}
	// The next rung replaces the rung before; the original stands.
	clk.Set(rung.Add(time.Minute))
	got = apply(t, s, c.ID, Change{Action: ActionEscalate, Actor: SystemActor, Level: "station_head", Note: "rung missed", EndMissed: true,
		Deadlines: []Deadline{{Kind: DeadlineAnswer, Group: GroupRung, Level: "station_head", Due: rung.Add(24 * time.Hour)}}})
	states := []string{}
	for _, d := range got.Deadlines {
		states = append(states, fmt.Sprintf("%s/%s/%s", d.Kind, d.Group, d.State(clk.Now())))
	}
	if want := "contact/limit/missed answer/limit/pending answer/rung/missed answer/rung/pending"; strings.Join(states, " ") != want {
		t.Errorf("deadlines %s, want %s", strings.Join(states, " "), want)
	}
	// Resolved after the original answer deadline: the original is late.
	clk.Set(answer.Add(time.Hour))
	for _, ch := range []Change{{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "x"}, {Action: ActionStart}, {Action: ActionResolve, Result: "r"}} {
		got = apply(t, s, c.ID, ch)
	}
	if o, _ := got.Original(DeadlineAnswer); o.State(clk.Now()) != StateLate || !o.Breached(clk.Now()) {
		t.Errorf("original answer after a late resolution: %+v", o)
	}
	if !got.NextDeadline().IsZero() {
		t.Errorf("resolved order still has deadline %s", got.NextDeadline())
	}
	// A deadline replaced before it was due is not the original one.
	clk.Set(start)
	d, _ := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", AnswerBy: answer})
	got = apply(t, s, d.ID, Change{Action: ActionClassify, Grade: GradeV, AnswerBy: answer.Add(24 * time.Hour)})
	if o, _ := got.Original(DeadlineAnswer); o.Due != answer.Add(24*time.Hour) {
		t.Errorf("original after reclassification %s", o.Due)
	}
}

// A 12398 item's regulator deadline runs to the close: resolved, the order
// stays in the deadline index, and the close meets it.
func TestRegulatorDeadlineRunsToClose(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, clk := newStore(t)
	due := start.Add(240 * time.Hour)
	c, _ := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Channel: Channel12398,
		Deadlines: []Deadline{{Kind: DeadlineRegulator, Group: GroupRegulator, Due: due}}})
	drive(t, s, c.ID, StatusResolved)
	if score, err := rdb.ZScore(ctx, "test:tickets:deadlines", c.ID).Result(); err != nil || int64(score) != due.UnixMilli() {
		t.Fatalf("resolved 12398 item in deadline index: %v %v", score, err)
	}
	clk.Set(due.Add(time.Hour))
	if over, _ := s.Overdue(ctx, clk.Now(), 10); len(over) != 1 || over[0].ID != c.ID {
		t.Fatalf("overdue %v", over)
	}
	got := apply(t, s, c.ID, Change{Action: ActionClose})
	if got.Deadlines[len(got.Deadlines)-1].State(clk.Now()) != StateLate || !got.NextDeadline().IsZero() {
		t.Errorf("regulator deadline after close: %+v", got.Deadlines)
	}
	if _, err := rdb.ZScore(ctx, "test:tickets:deadlines", c.ID).Result(); err == nil {
		t.Error("closed order still in the deadline index")
	}
}

// The first responder: the creating actor, or the agent who first answered
// the caller, once; the call path may call SetFirstResponder every time.
func TestFirstResponder(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	byAgent, _ := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Audit: []AuditEntry{{Actor: "zhang.wei"}}})
	if byAgent.FirstResponder != "zhang.wei" {
		t.Errorf("created by an agent: first responder %q", byAgent.FirstResponder)
	}
	ivr, _ := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000"})
	if ivr.FirstResponder != "" {
		t.Errorf("IVR order has first responder %q", ivr.FirstResponder)
	}
	got, err := s.SetFirstResponder(ctx, ivr.ID, "1001", "complaint")
	if err != nil || got.FirstResponder != "1001" || got.Queue != "complaint" || got.Audit[len(got.Audit)-1].Action != ActionFirstResponder {
		t.Fatalf("set: %+v %v", got, err)
	}
	again, err := s.SetFirstResponder(ctx, ivr.ID, "1002", "general")
	if err != nil || again.FirstResponder != "1001" || len(again.Audit) != len(got.Audit) {
		t.Fatalf("second call changed it: %+v %v", again, err)
	}
	if _, err := s.SetFirstResponder(ctx, ivr.ID, " ", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("blank: %v", err)
	}
	if _, err := s.SetFirstResponder(ctx, "20261122999999", "1001", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

// Existing reports merge under a parent; merged children resolve from any
// open status when the outage is over.
func TestMergeAndResolveChild(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	parent, _ := s.Create(ctx, Ticket{Type: TypeFault, Transformer: "TX-1"})
	child, _ := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000", Transformer: "TX-1"})
	got, err := s.Merge(ctx, child.ID, parent.ID, SystemActor)
	if err != nil || got.ParentID != parent.ID {
		t.Fatalf("merge: %+v %v", got, err)
	}
	if p, _ := s.Get(ctx, parent.ID); len(p.Children) != 1 || p.Children[0] != child.ID {
		t.Fatalf("parent children %v", p.Children)
	}
	if _, err := s.Merge(ctx, child.ID, parent.ID, SystemActor); err != nil {
		t.Errorf("merging again: %v", err)
	}
	if _, err := s.Merge(ctx, parent.ID, child.ID, SystemActor); !errors.Is(err, ErrInvalid) {
		t.Errorf("merging a parent: %v", err)
	}
	if got = apply(t, s, child.ID, Change{Action: ActionResolve, Result: "power_restored"}); got.Status != StatusResolved {
		t.Fatalf("resolve merged child: %s", got.Status)
	}
	lone, _ := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if _, err := s.Apply(ctx, lone.ID, Change{Action: ActionResolve, Actor: "a", Result: "x"}); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("resolve an accepted order on its own: %v", err)
	}
}

// Scan reads every order of a period, however many, oldest first.
func TestScanReadsThePeriod(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	n := 2*ScanPage + 7
	for i := range n {
		clk.Set(start.Add(time.Duration(i) * time.Second))
		if _, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(since, until time.Time) (int, bool) {
		got, ordered := 0, true
		var last time.Time
		err := s.Scan(ctx, since, until, func(ts []Ticket) error {
			for _, tk := range ts {
				got++
				ordered = ordered && !tk.CreatedAt.Before(last)
				last = tk.CreatedAt
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, ordered
	}
	if got, ok := count(time.Time{}, time.Time{}); got != n || !ok {
		t.Errorf("all: %d ordered %v, want %d", got, ok, n)
	}
	if got, _ := count(start.Add(100*time.Second), start.Add(700*time.Second)); got != 600 {
		t.Errorf("window: %d, want 600", got)
	}
	if got, _ := count(start.Add(time.Hour), time.Time{}); got != 0 {
		t.Errorf("after: %d", got)
	}
	stop := errors.New("stop")
	if err := s.Scan(ctx, time.Time{}, time.Time{}, func([]Ticket) error { return stop }); err != stop {
		t.Errorf("fn error: %v", err)
	}
}
