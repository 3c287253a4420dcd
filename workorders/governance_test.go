package workorders

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
)

// policyWith is the default policy file with each pair old → new
// replaced once, so a test can show that a figure acts: the code gives
// another result for another figure.
func policyWith(t *testing.T, pairs ...string) *policy.Policy {
	t.Helper()
	raw, err := os.ReadFile("../policy/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("default.yaml has no %q", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	p, err := policy.Parse(strings.NewReader(src), "../policy/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type rig struct {
	s   *Service
	m   *metrics.Metrics
	rdb *redis.Client
	clk *clocktest.Clock
	ctx context.Context
}

func newRig(t *testing.T, pol *policy.Policy) *rig {
	t.Helper()
	if pol == nil {
		pol = policy.Default()
	}
	clk := clocktest.New(monday)
	rdb := redistest.Start(t).Client(t)
	ts := tickets.New(rdb, "t:", clk.Now)
	ts.SetTaxonomy(pol)
	m := metrics.New(prometheus.NewRegistry())
	cb := callbacks.NewStore(rdb, "t:", pol.Callbacks(), clk.Now)
	s := New(ts, pol, cb, outages.New(rdb, "t:", clk.Now), rdb, "t:", "a", Config{WatchEvery: time.Second}, m, zerolog.Nop(), clk.Now)
	return &rig{s: s, m: m, rdb: rdb, clk: clk, ctx: context.Background()}
}

func (r *rig) create(t *testing.T, tk tickets.Ticket) tickets.Ticket {
	t.Helper()
	if tk.Phone == "" && tk.Account == "" && tk.Transformer == "" {
		tk.Phone = "13800138000"
	}
	got, err := r.s.Create(r.ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (r *rig) apply(t *testing.T, id string, c tickets.Change) tickets.Ticket {
	t.Helper()
	if c.Actor == "" {
		c.Actor = "agent:1001"
	}
	got, err := r.s.Apply(r.ctx, id, c)
	if err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
	return got
}

func (r *rig) watch(t *testing.T) {
	t.Helper()
	if err := r.s.WatchOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
}

func deadline(tk tickets.Ticket, kind, group string) (tickets.Deadline, bool) {
	for i := len(tk.Deadlines) - 1; i >= 0; i-- {
		if d := tk.Deadlines[i]; d.Kind == kind && d.Group == group {
			return d, true
		}
	}
	return tickets.Deadline{}, false
}

func value(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	_ = (<-ch).Write(&m)
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

// escalation.verify_within: a complaint is verified within 1 hour; missing
// it moves the complaint to the technician (seed 001 §4.3, §4.4).
func TestVerifyWithin(t *testing.T) {
	for _, tc := range []struct {
		pol    *policy.Policy
		within time.Duration
	}{{nil, time.Hour}, {policyWith(t, "verify_within: 1h", "verify_within: 2h"), 2 * time.Hour}} {
		r := newRig(t, tc.pol)
		c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"})
		d, ok := deadline(c, tickets.DeadlineVerify, tickets.GroupLimit)
		if !ok || !d.Due.Equal(monday.Add(tc.within)) {
			t.Fatalf("verify deadline %+v, want %s after acceptance", d, tc.within)
		}
		r.clk.Add(tc.within + time.Minute)
		r.watch(t)
		got, _ := r.s.Get(r.ctx, c.ID)
		if got.EscalationLevel != "technician" {
			t.Fatalf("verify missed: level %s, want technician", got.EscalationLevel)
		}
		if d, _ := deadline(got, tickets.DeadlineVerify, tickets.GroupLimit); d.State(r.clk.Now()) != tickets.StateMissed {
			t.Errorf("verify deadline %s, want missed", d.State(r.clk.Now()))
		}
		if n := value(r.m.DeadlinesMissed.WithLabelValues("verify")); n != 1 {
			t.Errorf("missed verify counted %v", n)
		}
	}
}

// contact_if_customer_within / contact_if_utility_within: verifying sets
// the contact the responsibility calls for, and a contact meets it.
func TestVerifySetsContact(t *testing.T) {
	r := newRig(t, policyWith(t, "contact_if_customer_within: 1h", "contact_if_customer_within: 45m"))
	for _, tc := range []struct {
		who string
		due time.Time
	}{
		{tickets.ResponsibilityCustomer, monday.Add(45 * time.Minute)},
		{tickets.ResponsibilityUtility, monday.AddDate(0, 0, 1)}, // Monday 10:00 + 1 working day
	} {
		c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"})
		got := r.apply(t, c.ID, tickets.Change{Action: tickets.ActionVerify, Responsibility: tc.who})
		d, ok := deadline(got, tickets.DeadlineContact, tickets.GroupVerify)
		if !ok || !d.Due.Equal(tc.due) || got.Responsibility != tc.who {
			t.Fatalf("%s: contact deadline %+v, want %s", tc.who, d, tc.due)
		}
		got = r.apply(t, c.ID, tickets.Change{Action: tickets.ActionContact, Note: "电话告知核实结果"})
		if d, _ := deadline(got, tickets.DeadlineContact, tickets.GroupVerify); d.State(r.clk.Now()) != tickets.StateMet {
			t.Errorf("%s: contact deadline %s after the contact", tc.who, d.State(r.clk.Now()))
		}
	}
}

// escalation.callback_within and the leadership callback kind: reaching
// the top rung, the leadership calls back within 1 working day, agent
// first; answered in time it is met, else missed and supervised.
func TestLeadershipCallsBack(t *testing.T) {
	for _, answered := range []bool{true, false} {
		r := newRig(t, nil)
		c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Phone: "13900139000"})
		for i := 0; i < 5; i++ {
			got, _ := r.s.Get(r.ctx, c.ID)
			if _, err := r.s.escalate(r.ctx, got, "test"); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := r.s.Get(r.ctx, c.ID)
		d, ok := deadline(got, tickets.DeadlineCallback, tickets.GroupLeadership)
		if got.EscalationLevel != "leadership" || !ok || !d.Due.Equal(monday.AddDate(0, 0, 1)) || d.Ref == "" {
			t.Fatalf("at the top: level %s callback deadline %+v", got.EscalationLevel, d)
		}
		cb, err := r.s.Callbacks.Get(r.ctx, d.Ref)
		if err != nil || cb.Kind != callbacks.KindLeadership || !cb.Deadline.Equal(d.Due) || cb.TicketID != c.ID ||
			!r.s.Callbacks.Policy().Kinds[callbacks.KindLeadership].AgentFirst {
			t.Fatalf("callback %+v %v", cb, err)
		}
		if answered {
			r.clk.Add(3 * time.Hour)
			claimed, ok, err := r.s.Callbacks.ClaimDue(r.ctx, time.Minute)
			if err != nil || !ok || claimed.ID != cb.ID {
				t.Fatalf("claim %+v %v %v", claimed, ok, err)
			}
			if _, err := r.s.Callbacks.Finish(r.ctx, claimed, true, "answered"); err != nil {
				t.Fatal(err)
			}
		}
		r.clk.Add(d.Due.Add(time.Minute).Sub(r.clk.Now()))
		r.watch(t)
		got, _ = r.s.Get(r.ctx, c.ID)
		d, _ = deadline(got, tickets.DeadlineCallback, tickets.GroupLeadership)
		switch st := d.State(r.clk.Now()); {
		case answered && st != tickets.StateMet:
			t.Errorf("answered callback: deadline %s, want met", st)
		case !answered && (st != tickets.StateMissed || got.SuperviseCount == 0):
			t.Errorf("unanswered callback: deadline %s supervised %d", st, got.SuperviseCount)
		}
	}
	// The figure acts: 2 working days.
	r := newRig(t, policyWith(t, "callback_within: 1 working day", "callback_within: 2 working days"))
	tk, err := r.s.leadershipCallback(r.ctx, r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"}))
	if d, _ := deadline(tk, tickets.DeadlineCallback, tickets.GroupLeadership); err != nil || !d.Due.Equal(monday.AddDate(0, 0, 2)) {
		t.Errorf("2 working days: %+v %v", d, err)
	}
}

// escalation.regulator_within: a 12398 item is closed within 10 working
// days; resolved but not closed by then, it is supervised.
func TestRegulatorWithin(t *testing.T) {
	r := newRig(t, nil)
	c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "12398", Class: "service", Subject: "staff_attitude"})
	d, ok := deadline(c, tickets.DeadlineRegulator, tickets.GroupRegulator)
	// Monday 2026-11-23 + 10 working days = Monday 2026-12-07.
	if !ok || !d.Due.Equal(monday.AddDate(0, 0, 14)) {
		t.Fatalf("regulator deadline %+v", d)
	}
	if n := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"}); len(n.Deadlines) == 0 {
		t.Fatal("no deadlines")
	} else if _, ok := deadline(n, tickets.DeadlineRegulator, tickets.GroupRegulator); ok {
		t.Error("a 95598 complaint has the 12398 deadline")
	}
	for _, ch := range []tickets.Change{{Action: tickets.ActionRegister}, {Action: tickets.ActionAssign, AssignTo: "x"},
		{Action: tickets.ActionStart}, {Action: tickets.ActionResolve, Result: "explained"}} {
		r.apply(t, c.ID, ch)
	}
	r.clk.Add(d.Due.Add(time.Minute).Sub(r.clk.Now()))
	r.watch(t)
	got, _ := r.s.Get(r.ctx, c.ID)
	if d, _ := deadline(got, tickets.DeadlineRegulator, tickets.GroupRegulator); d.State(r.clk.Now()) != tickets.StateMissed || got.SuperviseCount != 1 {
		t.Fatalf("12398 past its limit: %s, supervised %d", d.State(r.clk.Now()), got.SuperviseCount)
	}
	rep, _, err := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
	if err != nil || rep.Regulator.Items != 1 || rep.Regulator.Breached != 1 {
		t.Fatalf("report 12398 track %+v %v", rep.Regulator, err)
	}
	r2 := newRig(t, policyWith(t, "regulator_within: 10 working days", "regulator_within: 5 working days"))
	c2 := r2.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "12398"})
	if d, _ := deadline(c2, tickets.DeadlineRegulator, tickets.GroupRegulator); !d.Due.Equal(monday.AddDate(0, 0, 7)) {
		t.Errorf("5 working days: %s", d.Due)
	}
}

// limits.complaint.subtypes.supply_quality: an IVR complaint classified
// as supply quality gets its progress within 3 working days and its result
// within 15, from acceptance; the progress action meets the first.
func TestQualityComplaintProgress(t *testing.T) {
	r := newRig(t, nil)
	c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"})
	if _, ok := deadline(c, tickets.DeadlineProgress, tickets.GroupLimit); ok {
		t.Fatal("unclassified complaint has a progress deadline")
	}
	r.clk.Add(time.Hour)
	got := r.apply(t, c.ID, tickets.Change{Action: tickets.ActionClassify, Class: "supply_quality", Subject: "supply_quality", Grade: "V"})
	p, ok := deadline(got, tickets.DeadlineProgress, tickets.GroupLimit)
	if !ok || !p.Due.Equal(monday.AddDate(0, 0, 3)) {
		t.Fatalf("progress deadline %+v", p)
	}
	if !got.AnswerBy.Equal(policy.Default().Due(monday, policy.Span{Unit: policy.WorkingDays, Days: 15})) {
		t.Fatalf("answer by %s, want 15 working days after acceptance", got.AnswerBy)
	}
	if o, _ := got.Original(tickets.DeadlineAnswer); !o.Due.Equal(got.AnswerBy) {
		t.Errorf("original answer deadline %s, want the class's", o.Due)
	}
	got = r.apply(t, c.ID, tickets.Change{Action: tickets.ActionProgress, Note: "已告知客户检测安排"})
	if p, _ := deadline(got, tickets.DeadlineProgress, tickets.GroupLimit); p.State(r.clk.Now()) != tickets.StateMet {
		t.Errorf("progress deadline %s after the progress report", p.State(r.clk.Now()))
	}
	r2 := newRig(t, policyWith(t, "progress_within: 3 working days", "progress_within: 2 working days"))
	c2 := r2.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Class: "supply_quality", Subject: "supply_quality"})
	if p, _ := deadline(c2, tickets.DeadlineProgress, tickets.GroupLimit); !p.Due.Equal(monday.AddDate(0, 0, 2)) {
		t.Errorf("2 working days: %s", p.Due)
	}
}

// limits.report and taxonomy.report_subjects: a report (举报) is answered
// within 9 working days and carries a report subject.
func TestReportLimitAndSubjects(t *testing.T) {
	r := newRig(t, nil)
	rp := r.create(t, tickets.Ticket{Type: tickets.TypeReport, Channel: "95598", Subject: "electricity_theft", Named: true})
	// Monday 2026-11-23 + 9 working days = Friday 2026-12-04.
	if !rp.AnswerBy.Equal(monday.AddDate(0, 0, 11)) || rp.Subject != "electricity_theft" {
		t.Fatalf("report answer by %s subject %s", rp.AnswerBy, rp.Subject)
	}
	if _, err := r.s.Create(r.ctx, tickets.Ticket{Type: tickets.TypeReport, Phone: "13800138000", Subject: "staff_attitude"}); !errors.Is(err, tickets.ErrInvalid) {
		t.Errorf("complaint subject on a report: %v", err)
	}
	rep, labels, err := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
	if err != nil || rep.Reports != 1 || rep.ReportsBySubject[0].Key != "electricity_theft" || labels.ReportSubjects["electricity_theft"] != "窃电及违约用电" {
		t.Fatalf("report section %d %+v %v", rep.Reports, rep.ReportsBySubject, err)
	}
	r2 := newRig(t, policyWith(t, "answer_within: 9 working days", "answer_within: 8 working days"))
	if rp := r2.create(t, tickets.Ticket{Type: tickets.TypeReport, Channel: "95598"}); !rp.AnswerBy.Equal(monday.AddDate(0, 0, 10)) {
		t.Errorf("8 working days: %s", rp.AnswerBy)
	}
}

// The sub-types of faults and service requests act when an order names one.
func TestSubtypeLimits(t *testing.T) {
	r := newRig(t, nil)
	f := r.create(t, tickets.Ticket{Type: tickets.TypeFault, Subtype: "rural"})
	if !f.ContactBy.Equal(monday.Add(90 * time.Minute)) {
		t.Errorf("rural fault contact by %s, want 90 min", f.ContactBy)
	}
	sv := r.create(t, tickets.Ticket{Type: tickets.TypeService, Subtype: "reconnection"})
	if !sv.AnswerBy.Equal(monday.Add(24 * time.Hour)) {
		t.Errorf("reconnection answer by %s, want 24 h", sv.AnswerBy)
	}
	if _, err := r.s.Create(r.ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000", Subtype: "urban"}); !errors.Is(err, tickets.ErrInvalid) ||
		!strings.Contains(err.Error(), "remote, rural") {
		t.Errorf("unknown sub-type: %v", err)
	}
}

// An escalated complaint keeps its original answer deadline: the report's
// overdue rate counts it even though the rung set a later one.
func TestReportCountsOriginalDeadline(t *testing.T) {
	r := newRig(t, nil)
	late := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Class: "service", Subject: "staff_attitude"})
	onTime := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Class: "service", Subject: "staff_attitude"})
	for _, id := range []string{late.ID, onTime.ID} {
		r.apply(t, id, tickets.Change{Action: tickets.ActionRegister})
		r.apply(t, id, tickets.Change{Action: tickets.ActionAssign, AssignTo: "x"})
		r.apply(t, id, tickets.Change{Action: tickets.ActionStart})
	}
	r.apply(t, onTime.ID, tickets.Change{Action: tickets.ActionResolve, Result: "explained"})
	// Past the original 4 working days, with rungs set meanwhile.
	for range 3 {
		r.clk.Add(36 * time.Hour)
		r.watch(t)
	}
	got, _ := r.s.Get(r.ctx, late.ID)
	if got.EscalationLevel == "staff" {
		t.Fatal("not escalated")
	}
	r.apply(t, late.ID, tickets.Change{Action: tickets.ActionResolve, Result: "explained"})
	rep, _, err := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
	if err != nil || rep.Complaints != 2 || rep.Overdue != 1 {
		t.Fatalf("complaints %d overdue %d (%v), want 2 and 1", rep.Complaints, rep.Overdue, err)
	}
	// Which one: the late, not the one answered on time but not yet closed.
	lateNow, _ := r.s.Get(r.ctx, late.ID)
	onTimeNow, _ := r.s.Get(r.ctx, onTime.ID)
	if now := r.clk.Now(); !report.IsOverdue(Item(lateNow, now), now) || report.IsOverdue(Item(onTimeNow, now), now) {
		t.Errorf("overdue: late %v, on time %v", report.IsOverdue(Item(lateNow, now), now), report.IsOverdue(Item(onTimeNow, now), now))
	}
}
