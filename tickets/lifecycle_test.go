package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// pathTo is the ordinary run of changes that brings a new ticket to each
// status; the table test starts every (status, action) pair from it.
var pathTo = map[Status][]Change{
	StatusAccepted:   nil,
	StatusRegistered: {{Action: ActionRegister}},
	StatusAssigned:   {{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "station:east"}},
	StatusInProgress: {{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "station:east"}, {Action: ActionStart}},
	StatusResolved: {{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "station:east"}, {Action: ActionStart},
		investigated, {Action: ActionResolve, Result: "更换表计"}},
	StatusFollowUp: {{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "station:east"}, {Action: ActionStart},
		investigated, {Action: ActionResolve, Result: "更换表计"}, {Action: ActionFollowUp}},
	StatusClosed: {{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "station:east"}, {Action: ActionStart},
		investigated, {Action: ActionResolve, Result: "更换表计"}, {Action: ActionFollowUp},
		{Action: ActionClose, FollowUp: FollowUpSatisfied}},
}

// investigated records the root cause and corrective measure a complaint
// needs before it is closed (四不放过).
var investigated = Change{Action: ActionInvestigate, Cause: "表计老化", Measure: "全所表计轮换"}

// complete is a change for each action carrying everything it needs, so
// that only the status decides whether it is allowed.
var complete = map[Action]Change{
	ActionRegister:  {Action: ActionRegister},
	ActionAssign:    {Action: ActionAssign, AssignTo: "station:east"},
	ActionTransfer:  {Action: ActionTransfer, AssignTo: "station:west"},
	ActionStart:     {Action: ActionStart},
	ActionResolve:   {Action: ActionResolve, Result: "已重新抄表并退还多收电费"},
	ActionFollowUp:  {Action: ActionFollowUp, FollowUp: FollowUpNoAnswer},
	ActionClose:     {Action: ActionClose, FollowUp: FollowUpSatisfied},
	ActionUrge:      {Action: ActionUrge, Note: "客户来电催办"},
	ActionSupervise: {Action: ActionSupervise, Note: "营销部督办"},
	ActionReopen:    {Action: ActionReopen, Note: "客户不满意", FollowUp: FollowUpUnsatisfied},
	ActionEscalate:  {Action: ActionEscalate, Level: "technician", Grade: GradeIV, Note: "1个工作日未解决"},
	ActionNote:      {Action: ActionNote, Note: "客户补充说明"},

	ActionClassify:    {Action: ActionClassify, Grade: GradeIII},
	ActionVerify:      {Action: ActionVerify, Responsibility: ResponsibilityUtility},
	ActionContact:     {Action: ActionContact, Note: "电话联系客户，说明处理进度"},
	ActionPropose:     {Action: ActionPropose, Note: "拟派东区供电所核实抄表"},
	ActionProgress:    {Action: ActionProgress, Note: "已告知客户正在核实"},
	ActionInvestigate: {Action: ActionInvestigate, Cause: "抄表员估抄", Measure: "抄表复核制度", Note: "调查报告"},
	ActionDecide:      {Action: ActionDecide, Decision: DecisionUpheld, Note: "供电所有责"},
	ActionWarn:        {Action: ActionWarn, Note: "客户扬言向12398投诉"},
}

// want is the expected outcome of every (status, action) pair, written out
// by hand from the closed loop rather than derived from the code's table;
// a missing entry means the pair is illegal.
var want = map[Status]map[Action]Status{
	StatusAccepted: {ActionRegister: StatusRegistered, ActionUrge: StatusAccepted, ActionSupervise: StatusAccepted,
		ActionEscalate: StatusAccepted, ActionNote: StatusAccepted},
	StatusRegistered: {ActionAssign: StatusAssigned, ActionUrge: StatusRegistered, ActionSupervise: StatusRegistered,
		ActionEscalate: StatusRegistered, ActionNote: StatusRegistered},
	StatusAssigned: {ActionTransfer: StatusAssigned, ActionStart: StatusInProgress, ActionUrge: StatusAssigned,
		ActionSupervise: StatusAssigned, ActionEscalate: StatusAssigned, ActionNote: StatusAssigned},
	StatusInProgress: {ActionTransfer: StatusAssigned, ActionResolve: StatusResolved, ActionUrge: StatusInProgress,
		ActionSupervise: StatusInProgress, ActionEscalate: StatusInProgress, ActionNote: StatusInProgress},
	StatusResolved: {ActionFollowUp: StatusFollowUp, ActionClose: StatusClosed, ActionUrge: StatusResolved,
		ActionSupervise: StatusResolved, ActionReopen: StatusInProgress, ActionNote: StatusResolved},
	StatusFollowUp: {ActionClose: StatusClosed, ActionUrge: StatusFollowUp, ActionSupervise: StatusFollowUp,
		ActionReopen: StatusInProgress, ActionNote: StatusFollowUp},
	StatusClosed: {ActionReopen: StatusInProgress, ActionNote: StatusClosed},
}

// The closed-loop actions that leave the status as it is, and the statuses
// each is allowed in (seed 001 §7), added to want by init.
var loopActions = map[Action][]Status{
	ActionClassify:    {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress, StatusResolved, StatusFollowUp},
	ActionVerify:      {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress},
	ActionContact:     {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress, StatusResolved, StatusFollowUp},
	ActionPropose:     {StatusRegistered, StatusAssigned, StatusInProgress},
	ActionProgress:    {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress},
	ActionInvestigate: {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress, StatusResolved, StatusFollowUp},
	ActionDecide:      {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress, StatusResolved, StatusFollowUp},
	ActionWarn:        {StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress},
	// From follow-up, follow_up records the outcome.
	ActionFollowUp: {StatusFollowUp},
}

func init() {
	for a, sts := range loopActions {
		for _, st := range sts {
			want[st][a] = st
		}
	}
}

func newComplaint(t *testing.T, s *Store) Ticket {
	t.Helper()
	tk, err := s.Create(context.Background(), Ticket{Type: TypeComplaint, Phone: "13800138000",
		Class: "business", Subject: "wrong_meter_reading", EscalationLevel: "staff", Grade: GradeV})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func drive(t *testing.T, s *Store, id string, st Status) Ticket {
	t.Helper()
	var tk Ticket
	var err error
	for _, c := range pathTo[st] {
		c.Actor = "agent:1001"
		if tk, err = s.Apply(context.Background(), id, c); err != nil {
			t.Fatalf("drive %s to %s: %s: %v", id, st, c.Action, err)
		}
	}
	if st == StatusAccepted {
		tk, _ = s.Get(context.Background(), id)
	}
	if tk.Status != st {
		t.Fatalf("drive %s: status %s, want %s", id, tk.Status, st)
	}
	return tk
}

// snapshot is every key's serialised value, to prove that a refused change
// wrote nothing at all.
func snapshot(t *testing.T, rdb *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		out[k], _ = rdb.Dump(ctx, k).Result()
	}
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestApplyEveryPair(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	for _, st := range Statuses() {
		for _, a := range Actions() {
			t.Run(fmt.Sprintf("%s/%s", st, a), func(t *testing.T) {
				tk := drive(t, s, newComplaint(t, s).ID, st)
				before := snapshot(t, rdb)
				c := complete[a]
				c.Actor = "agent:2002"
				got, err := s.Apply(ctx, tk.ID, c)
				wantSt, legal := want[st][a]
				if !legal {
					if !errors.Is(err, ErrIllegalTransition) {
						t.Fatalf("Apply = %v, want ErrIllegalTransition", err)
					}
					var te *TransitionError
					if !errors.As(err, &te) || te.Action != a || te.Status != st || te.Hint == "" {
						t.Errorf("error %#v does not name action and status", te)
					}
					msg := err.Error()
					if !strings.Contains(msg, "cannot "+verb(a)+" a ticket that is "+describe(st)+": ") {
						t.Errorf("message %q is not clear", msg)
					}
					if after := snapshot(t, rdb); !sameSnapshot(before, after) {
						t.Errorf("a refused %s wrote to Redis", a)
					}
					return
				}
				if err != nil {
					t.Fatalf("Apply = %v, want status %s", err, wantSt)
				}
				stored, err := s.Get(ctx, tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != wantSt || stored.Status != wantSt {
					t.Errorf("status = %s (stored %s), want %s", got.Status, stored.Status, wantSt)
				}
				if len(stored.Audit) != len(tk.Audit)+1 {
					t.Fatalf("audit grew from %d to %d entries, want one more", len(tk.Audit), len(stored.Audit))
				}
				e := stored.Audit[len(stored.Audit)-1]
				if e.Action != string(a) || e.Actor != "agent:2002" || !e.At.Equal(stored.UpdatedAt) {
					t.Errorf("audit entry = %+v", e)
				}
				// Assign and transfer record the assignee instead (see AuditEntry).
				if wantSt != st && a != ActionAssign && a != ActionTransfer && (e.From != string(st) || e.To != string(wantSt)) {
					t.Errorf("audit From/To = %q→%q, want %s→%s", e.From, e.To, st, wantSt)
				}
				// The indexes follow the new status in the same write.
				_, inOpen := rdb.ZScore(ctx, "test:tickets:open", tk.ID).Result()
				if (inOpen == nil) != wantSt.Open() {
					t.Errorf("open index membership = %v for %s", inOpen == nil, wantSt)
				}
			})
		}
	}
}

// The code's table says the same as the hand-written one.
func TestTransitionsTable(t *testing.T) {
	tr := Transitions()
	if len(tr) != len(Statuses()) {
		t.Fatalf("Transitions covers %d statuses", len(tr))
	}
	for _, st := range Statuses() {
		var wantActs []Action
		for _, a := range Actions() {
			if _, ok := want[st][a]; ok {
				wantActs = append(wantActs, a)
			}
		}
		if !slices.Equal(tr[st], wantActs) {
			t.Errorf("Transitions()[%s] = %v, want %v", st, tr[st], wantActs)
		}
	}
	// A caller's copy cannot change the store's table.
	tr[StatusClosed] = append(tr[StatusClosed], ActionResolve)
	if _, ok := ActionResolve.Result(StatusClosed); ok {
		t.Error("Transitions exposed the internal table")
	}
}

func TestIllegalTransitionMessages(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	cases := []struct {
		st   Status
		c    Change
		want string
	}{
		{StatusAccepted, complete[ActionResolve], "cannot resolve a ticket that is accepted: register, assign and start it first"},
		{StatusRegistered, complete[ActionTransfer], "cannot transfer a ticket that is registered: assign it first"},
		{StatusInProgress, complete[ActionAssign], "it is already assigned; transfer it instead"},
		{StatusInProgress, complete[ActionStart], "it is already in progress"},
		{StatusInProgress, complete[ActionReopen], "it is still open"},
		{StatusClosed, complete[ActionUrge], "cannot urge a ticket that is closed: reopen it first"},
		{StatusFollowUp, complete[ActionStart], "reopen it to handle it again"},
		{StatusAssigned, complete[ActionRegister], "it is past that step"},
		{StatusAccepted, complete[ActionClose], "register, assign, start and resolve it first"},
	}
	for _, tc := range cases {
		tk := drive(t, s, newComplaint(t, s).ID, tc.st)
		c := tc.c
		c.Actor = "agent"
		_, err := s.Apply(ctx, tk.ID, c)
		if !errors.Is(err, ErrIllegalTransition) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %s: %v, want %q", c.Action, tc.st, err, tc.want)
		}
	}
}

// Missing or misplaced data is ErrInvalid, and nothing is written.
func TestApplyInvalid(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	inProgress := drive(t, s, newComplaint(t, s).ID, StatusInProgress)
	fault, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13900139000"})
	if err != nil {
		t.Fatal(err)
	}
	followUp := drive(t, s, newComplaint(t, s).ID, StatusFollowUp)
	cases := []struct {
		name string
		id   string
		c    Change
	}{
		{"resolve without result", inProgress.ID, Change{Action: ActionResolve, Actor: "a"}},
		{"resolve with blank result", inProgress.ID, Change{Action: ActionResolve, Actor: "a", Result: "  "}},
		{"transfer without assignee", inProgress.ID, Change{Action: ActionTransfer, Actor: "a"}},
		{"transfer to the same", inProgress.ID, Change{Action: ActionTransfer, Actor: "a", AssignTo: "station:east"}},
		{"escalate without level", inProgress.ID, Change{Action: ActionEscalate, Actor: "a", Note: "why"}},
		{"escalate without why", inProgress.ID, Change{Action: ActionEscalate, Actor: "a", Level: "technician"}},
		{"escalate to the same level", inProgress.ID, Change{Action: ActionEscalate, Actor: "a", Level: "staff", Note: "x"}},
		{"bad grade", inProgress.ID, Change{Action: ActionEscalate, Actor: "a", Level: "technician", Grade: "VI", Note: "x"}},
		{"grade on a fault", fault.ID, Change{Action: ActionEscalate, Actor: "a", Level: "technician", Grade: GradeIV, Note: "x"}},
		{"no actor", inProgress.ID, Change{Action: ActionUrge}},
		{"unknown action", inProgress.ID, Change{Action: "approve", Actor: "a"}},
		{"result on urge", inProgress.ID, Change{Action: ActionUrge, Actor: "a", Result: "done"}},
		{"bad outcome", followUp.ID, Change{Action: ActionClose, Actor: "a", FollowUp: "happy"}},
		{"close follow-up without outcome", followUp.ID, Change{Action: ActionClose, Actor: "a"}},
		{"empty note", inProgress.ID, Change{Action: ActionNote, Actor: "a"}},
	}
	for _, tc := range cases {
		before := snapshot(t, rdb)
		if _, err := s.Apply(ctx, tc.id, tc.c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
		if !sameSnapshot(before, snapshot(t, rdb)) {
			t.Errorf("%s: wrote to Redis", tc.name)
		}
	}
	if _, err := s.Apply(ctx, "20261122999999", Change{Action: ActionUrge, Actor: "a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ticket: %v, want ErrNotFound", err)
	}

	// With a result it resolves, and the result is on the ticket and in the audit.
	got, err := s.Apply(ctx, inProgress.ID, Change{Action: ActionResolve, Actor: "a", Result: "已退费"})
	if err != nil || got.Result != "已退费" || !strings.Contains(got.Audit[len(got.Audit)-1].Note, "result: 已退费") {
		t.Errorf("resolve = %+v, %v", got, err)
	}
}

func TestCloseRules(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)

	// A named reporter must get the follow-up call.
	named, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Named: true})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, s, named.ID, StatusResolved)
	if _, err := s.Apply(ctx, named.ID, Change{Action: ActionClose, Actor: "a"}); !errors.Is(err, ErrIllegalTransition) ||
		!strings.Contains(err.Error(), "follow-up") {
		t.Errorf("closing a named report without follow-up = %v", err)
	}
	// An anonymous one may be filed straight away.
	anon := drive(t, s, newComplaint(t, s).ID, StatusResolved)
	got, err := s.Apply(ctx, anon.ID, Change{Action: ActionClose, Actor: "a"})
	if err != nil || got.Status != StatusClosed || !got.ClosedAt.Equal(got.UpdatedAt) {
		t.Errorf("close anonymous = %+v, %v", got, err)
	}

	// An unhappy customer's order goes back, never into the archive.
	fu := drive(t, s, newComplaint(t, s).ID, StatusFollowUp)
	if _, err := s.Apply(ctx, fu.ID, Change{Action: ActionClose, Actor: "a", FollowUp: FollowUpUnsatisfied}); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("close unsatisfied = %v", err)
	}
	got, err = s.Apply(ctx, fu.ID, Change{Action: ActionReopen, Actor: "customer", FollowUp: FollowUpUnsatisfied, Note: "仍未解决"})
	if err != nil || got.Status != StatusInProgress || got.FollowUp != FollowUpUnsatisfied {
		t.Fatalf("reopen = %+v, %v", got, err)
	}
	// The next round's follow-up starts afresh; closing needs its outcome.
	for _, c := range []Change{{Action: ActionResolve, Result: "再次处理"}, {Action: ActionFollowUp}} {
		c.Actor = "a"
		if got, err = s.Apply(ctx, fu.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	if got.FollowUp != "" {
		t.Errorf("new follow-up round kept outcome %q", got.FollowUp)
	}
	got, err = s.Apply(ctx, fu.ID, Change{Action: ActionClose, Actor: "a", FollowUp: FollowUpNoAnswer})
	if err != nil || got.Status != StatusClosed || got.FollowUp != FollowUpNoAnswer {
		t.Errorf("close no answer = %+v, %v", got, err)
	}
	// Reopening a closed order clears ClosedAt.
	got, err = s.Apply(ctx, fu.ID, Change{Action: ActionReopen, Actor: "a", Note: "客户再次来电"})
	if err != nil || !got.ClosedAt.IsZero() {
		t.Errorf("reopen closed = %+v, %v", got, err)
	}
}

func TestEscalateAuditAndCounters(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	tk := drive(t, s, newComplaint(t, s).ID, StatusAssigned)
	answer := start.Add(48 * time.Hour)
	got, err := s.Apply(ctx, tk.ID, Change{Action: ActionEscalate, Actor: "system", Level: "technician", Grade: GradeIV,
		AnswerBy: answer, Note: "1个工作日未解决"})
	if err != nil {
		t.Fatal(err)
	}
	e := got.Audit[len(got.Audit)-1]
	if got.EscalationLevel != "technician" || got.Grade != GradeIV || got.Status != StatusAssigned || !got.AnswerBy.Equal(answer) ||
		e.From != "staff" || e.To != "technician" || !strings.Contains(e.Note, "1个工作日未解决") ||
		!strings.Contains(e.Note, "grade V → IV") || !strings.Contains(e.Note, "answer by 2026-11-24 10:00:00") {
		t.Errorf("escalated = %+v, audit %+v", got, e)
	}
	for i := 1; i <= 3; i++ {
		got, err = s.Apply(ctx, tk.ID, Change{Action: ActionUrge, Actor: "customer"})
		if err != nil {
			t.Fatal(err)
		}
		e = got.Audit[len(got.Audit)-1]
		if got.UrgeCount != i || e.From != fmt.Sprint(i-1) || e.To != fmt.Sprint(i) || got.Status != StatusAssigned {
			t.Errorf("urge %d: count %d, audit %+v", i, got.UrgeCount, e)
		}
	}
	got, err = s.Apply(ctx, tk.ID, Change{Action: ActionSupervise, Actor: "marketing"})
	if err != nil || got.SuperviseCount != 1 {
		t.Errorf("supervise = %d, %v", got.SuperviseCount, err)
	}
	got, err = s.Apply(ctx, tk.ID, Change{Action: ActionTransfer, Actor: "a", AssignTo: "station:west"})
	e = got.Audit[len(got.Audit)-1]
	if err != nil || got.AssignedTo != "station:west" || e.From != "station:east" || e.To != "station:west" {
		t.Errorf("transfer = %+v, %v", e, err)
	}
}

type fakeTaxonomy map[string][]string

func (f fakeTaxonomy) ValidSubject(class, subject string) bool {
	return class != "report" && slices.Contains(f[class], subject)
}

func (f fakeTaxonomy) ValidClass(class string) bool {
	_, ok := f[class]
	return ok && class != "report"
}

// ValidReportSubject: report subjects are listed under the key "report".
func (f fakeTaxonomy) ValidReportSubject(subject string) bool {
	return slices.Contains(f["report"], subject)
}

func TestCreateLifecycleFields(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	in := Ticket{Type: TypeComplaint, Phone: "13800138000", Channel: Channel12398, Class: "business", Subject: "wrong_meter_reading",
		Named: true, Grade: GradeV, EscalationLevel: "staff", ContactBy: start.Add(time.Hour), AnswerBy: start.Add(96 * time.Hour),
		// Handling state from the caller is ignored.
		AssignedTo: "x", Result: "done", UrgeCount: 3, Children: []string{"20261122000009"}, ClosedAt: start}
	tk, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, tk.ID)
	if got.Channel != Channel12398 || got.Class != "business" || got.Subject != "wrong_meter_reading" || !got.Named ||
		got.Grade != GradeV || got.EscalationLevel != "staff" || !got.ContactBy.Equal(in.ContactBy) || !got.AnswerBy.Equal(in.AnswerBy) ||
		got.AssignedTo != "" || got.Result != "" || got.UrgeCount != 0 || got.Children != nil || !got.ClosedAt.IsZero() {
		t.Errorf("stored = %+v", got)
	}

	s.SetTaxonomy(fakeTaxonomy{"business": {"wrong_meter_reading"}})
	bad := map[string]Ticket{
		"unknown channel":      {Type: TypeFault, Phone: "13800138000", Channel: "fax"},
		"unknown subject":      {Type: TypeComplaint, Phone: "13800138000", Class: "business", Subject: "rude_staff"},
		"subject only":         {Type: TypeComplaint, Phone: "13800138000", Subject: "wrong_meter_reading"},
		"class only":           {Type: TypeComplaint, Phone: "13800138000", Class: "business"},
		"bad grade":            {Type: TypeComplaint, Phone: "13800138000", Grade: "VI"},
		"grade on a fault":     {Type: TypeFault, Phone: "13800138000", Grade: GradeV},
		"callerless non-fault": {Type: TypeComplaint, Area: "朝阳"},
	}
	for name, tk := range bad {
		if _, err := s.Create(ctx, tk); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Class: "business", Subject: "wrong_meter_reading"}); err != nil {
		t.Errorf("known subject refused: %v", err)
	}
	s.SetTaxonomy(nil)
	if _, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Class: "service", Subject: "rude_staff"}); err != nil {
		t.Errorf("without a taxonomy any subject goes: %v", err)
	}
}

func TestOpenByPhoneAndFilters(t *testing.T) {
	ctx := context.Background()
	s, _, _, c := newStore(t)
	mk := func(typ Type, phone, area, class, subject string) Ticket {
		t.Helper()
		tk, err := s.Create(ctx, Ticket{Type: typ, Phone: phone, Area: area, Class: class, Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		c.Set(c.t.Add(time.Minute))
		return tk
	}
	a := mk(TypeFault, "13800138000", "朝阳", "", "")
	b := mk(TypeComplaint, "13800138000", "海淀", "business", "wrong_meter_reading")
	cl := mk(TypeComplaint, "13800138000", "朝阳", "service", "staff_attitude")
	d := mk(TypeFault, "13900139000", "朝阳", "", "")
	drive(t, s, cl.ID, StatusClosed)

	got, err := s.OpenByPhone(ctx, "+86 138 0013 8000")
	if err != nil || !sameIDs(got, []string{b.ID, a.ID}) {
		t.Errorf("OpenByPhone = %v, %v, want [%s %s]", idsOf(got), err, b.ID, a.ID)
	}
	if got, err := s.OpenByPhone(ctx, "13700137000"); err != nil || len(got) != 0 {
		t.Errorf("OpenByPhone unknown = %v, %v", idsOf(got), err)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"open", Filter{Open: true}, []string{d.ID, b.ID, a.ID}},
		{"open faults", Filter{Open: true, Type: TypeFault}, []string{d.ID, a.ID}},
		{"open limit", Filter{Open: true, Limit: 1}, []string{d.ID}},
		{"area", Filter{Area: "朝阳"}, []string{d.ID, cl.ID, a.ID}},
		{"open area", Filter{Area: "朝阳", Open: true}, []string{d.ID, a.ID}},
		{"class", Filter{Class: "service"}, []string{cl.ID}},
		{"status closed", Filter{Status: StatusClosed}, []string{cl.ID}},
	} {
		got, err := s.List(ctx, tc.f)
		if err != nil || !sameIDs(got, tc.want) {
			t.Errorf("%s: %v, %v, want %v", tc.name, idsOf(got), err, tc.want)
		}
	}
	if _, err := s.List(ctx, Filter{Status: "pending"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown status filter = %v, want ErrInvalid", err)
	}
}

func TestAddRepeatCall(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	tk := drive(t, s, newComplaint(t, s).ID, StatusClosed)
	for range 2 {
		if err := s.AddRepeatCall(ctx, tk.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.Get(ctx, tk.ID)
	e := got.Audit[len(got.Audit)-1]
	if got.RepeatCalls != 2 || got.Status != StatusClosed || e.Action != ActionRepeatCall || e.Actor != DefaultActor ||
		e.From != "1" || e.To != "2" {
		t.Errorf("repeat calls = %d, audit %+v", got.RepeatCalls, e)
	}
	if err := s.AddRepeatCall(ctx, "20261122999999", "ivr"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ticket = %v", err)
	}
}

// Concurrent urges from two replicas are all counted and all audited.
func TestConcurrentUrges(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	other := New(rdb, "test:", nil)
	tk := newComplaint(t, s)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			_, err := st.Apply(ctx, tk.ID, Change{Action: ActionUrge, Actor: "customer"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ErrConflict) {
			t.Error(err)
		}
	}
	got, _ := s.Get(ctx, tk.ID)
	if got.UrgeCount != ok || len(got.Audit) != 1+ok {
		t.Errorf("urge count %d, audit %d, successes %d", got.UrgeCount, len(got.Audit), ok)
	}
}

func TestLifecycleDeadRedis(t *testing.T) {
	ctx := context.Background()
	s, _, srv, _ := newStore(t)
	srv.Kill(t)
	check := func(name string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrIllegalTransition) ||
			!strings.HasPrefix(err.Error(), "tickets: ") {
			t.Errorf("%s on a dead Redis = %v, want a wrapped connection error", name, err)
		}
	}
	_, err := s.Apply(ctx, "20261122000001", Change{Action: ActionUrge, Actor: "a"})
	check("Apply", err)
	_, err = s.Overdue(ctx, start, 10)
	check("Overdue", err)
	_, err = s.DueBefore(ctx, start)
	check("DueBefore", err)
	_, err = s.CountOpen(ctx)
	check("CountOpen", err)
	_, err = s.OpenByPhone(ctx, "13800138000")
	check("OpenByPhone", err)
	check("AddRepeatCall", s.AddRepeatCall(ctx, "20261122000001", ""))
	_, err = s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000", ParentID: "20261122000001"})
	check("Create child", err)
}
