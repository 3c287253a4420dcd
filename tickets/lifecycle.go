package tickets

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

// Action is a step of the work-order closed loop (seed 001, §7: accept →
// register → propose → transfer → urge → supervise → report → decision),
// applied with Store.Apply and recorded in the audit trail under the same
// name.
type Action string

const (
	ActionRegister  Action = "register"  // 登记: accepted → registered; counts as contacting the customer
	ActionAssign    Action = "assign"    // 派单: registered → assigned (AssignTo)
	ActionTransfer  Action = "transfer"  // 转派: assigned / in progress → assigned to someone else (AssignTo)
	ActionStart     Action = "start"     // 处理: assigned → in progress
	ActionResolve   Action = "resolve"   // 办结: in progress → resolved (Result)
	ActionFollowUp  Action = "follow_up" // 回访: resolved → follow-up (FollowUp outcome optional)
	ActionClose     Action = "close"     // 归档: follow-up, or resolved when no follow-up is needed → closed
	ActionUrge      Action = "urge"      // 催办: any status but closed; counts, status unchanged
	ActionSupervise Action = "supervise" // 督办: any status but closed; counts, status unchanged
	ActionReopen    Action = "reopen"    // resolved / follow-up / closed → in progress (the customer is unhappy)
	ActionEscalate  Action = "escalate"  // 升级: open statuses; new ladder Level (and Grade), status unchanged

	// The rest of seed 001's closed loop; none changes the status.
	ActionClassify    Action = "classify"    // complaint class, subject and grade, or a report's subject (see Change)
	ActionVerify      Action = "verify"      // 核实: whose responsibility the complaint is (Responsibility)
	ActionContact     Action = "contact"     // a contact with the customer (phone, letter, visit: Note)
	ActionPropose     Action = "propose"     // 拟办: the proposed handling (Note)
	ActionProgress    Action = "progress"    // progress told to the customer (Note)
	ActionInvestigate Action = "investigate" // 调查报告: root cause and corrective measure (Cause, Measure), the report in Note
	ActionDecide      Action = "decide"      // 处理意见: the decision (Decision)
	ActionWarn        Action = "warn"        // 预警报告: the station head's early-warning report (Note)
	// ActionNote (declared with the audit actions, untyped so that it also
	// fits AuditEntry.Action) adds a note in any status.
)

// Change is one Apply request. Which fields an action takes:
//
//	assign, transfer  AssignTo (required)
//	resolve           Result (required)
//	follow_up         FollowUp outcome (optional: the call may not have happened yet)
//	close             FollowUp outcome (required from follow-up unless already recorded)
//	reopen            Note (required: why), FollowUp outcome (optional, e.g. "unsatisfied")
//	escalate          Level (required), Grade (optional, complaints only), Note (required: why)
//	note              Note (required)
//	classify          Class and Subject (together) and/or Grade (complaints); Subject only (reports)
//	verify            Responsibility (required: customer or utility)
//	contact, propose, progress, warn   Note (required)
//	investigate       Cause and Measure (required), Note (the report, optional)
//	decide            Decision (required)
//
// A field an action does not take is refused rather than silently dropped.
// Every action takes Actor (required), Note and new deadlines: ContactBy
// and AnswerBy (zero leaves them as they are) replace the order's own
// contact and answer limits, e.g. a fresh one with a reopen; Deadlines adds
// any deadline (e.g. the next rung's, see Deadline for what replaces what).
type Change struct {
	Action         Action
	Actor          string
	Note           string
	AssignTo       string
	Result         string
	Level          string
	Grade          string
	FollowUp       string
	Class          string
	Subject        string
	Responsibility string
	Cause          string
	Measure        string
	Decision       string
	// ContactBy and AnswerBy, when not zero, replace the ticket's own
	// contact and answer limits (GroupLimit).
	ContactBy time.Time
	AnswerBy  time.Time
	// Deadlines are added; each replaces the active deadline of its kind
	// and group.
	Deadlines []Deadline
	// EndMissed ends every active deadline already past due as missed:
	// the watcher acted on them (escalated or supervised).
	EndMissed bool
}

// rule is one row of the transition table: the statuses an action may be
// applied in, and the status it leads to ("" = unchanged).
type rule struct {
	from []Status
	to   Status
}

var (
	openStatuses    = []Status{StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress}
	notClosed       = []Status{StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress, StatusResolved, StatusFollowUp}
	afterResolution = []Status{StatusResolved, StatusFollowUp, StatusClosed}
	everyStatus     = Statuses()
	workStatuses    = []Status{StatusRegistered, StatusAssigned, StatusInProgress}
	actionsInOrder  = []Action{ActionRegister, ActionClassify, ActionVerify, ActionContact, ActionPropose, ActionAssign, ActionTransfer,
		ActionStart, ActionProgress, ActionWarn, ActionInvestigate, ActionResolve, ActionFollowUp, ActionDecide, ActionClose,
		ActionUrge, ActionSupervise, ActionReopen, ActionEscalate, ActionNote}
	transitionsTable = map[Action]rule{
		ActionRegister:  {from: []Status{StatusAccepted}, to: StatusRegistered},
		ActionAssign:    {from: []Status{StatusRegistered}, to: StatusAssigned},
		ActionTransfer:  {from: []Status{StatusAssigned, StatusInProgress}, to: StatusAssigned},
		ActionStart:     {from: []Status{StatusAssigned}, to: StatusInProgress},
		ActionResolve:   {from: []Status{StatusInProgress}, to: StatusResolved},
		ActionFollowUp:  {from: []Status{StatusResolved, StatusFollowUp}, to: StatusFollowUp},
		ActionClose:     {from: []Status{StatusResolved, StatusFollowUp}, to: StatusClosed},
		ActionUrge:      {from: notClosed},
		ActionSupervise: {from: notClosed},
		ActionReopen:    {from: afterResolution, to: StatusInProgress},
		ActionEscalate:  {from: openStatuses},
		ActionNote:      {from: everyStatus},

		ActionClassify:    {from: notClosed},
		ActionVerify:      {from: openStatuses},
		ActionContact:     {from: notClosed},
		ActionPropose:     {from: workStatuses},
		ActionProgress:    {from: openStatuses},
		ActionInvestigate: {from: notClosed},
		ActionDecide:      {from: notClosed},
		ActionWarn:        {from: openStatuses},
	}
)

// Actions lists every Apply action in life-cycle order.
func Actions() []Action { return slices.Clone(actionsInOrder) }

// Known reports whether a is one of the Apply actions.
func (a Action) Known() bool { _, ok := transitionsTable[a]; return ok }

// Transitions returns, for every status, the actions Apply allows in it, in
// life-cycle order: the transition table, for documentation and tests. Two
// actions also depend on the ticket: closing a resolved order without a
// follow-up is refused for a named reporter, and closing is refused when
// the recorded follow-up outcome is "unsatisfied".
func Transitions() map[Status][]Action {
	out := make(map[Status][]Action, len(everyStatus))
	for _, st := range everyStatus {
		out[st] = []Action{}
		for _, a := range actionsInOrder {
			if slices.Contains(transitionsTable[a].from, st) {
				out[st] = append(out[st], a)
			}
		}
	}
	return out
}

// Result reports the status that applying a to a ticket in status st
// leads to, and whether the table allows it at all.
func (a Action) Result(st Status) (Status, bool) {
	r, ok := transitionsTable[a]
	if !ok || !slices.Contains(r.from, st) {
		return "", false
	}
	if r.to == "" {
		return st, true
	}
	return r.to, true
}

// TransitionError is the error for an action the ticket's status does not
// allow. It matches ErrIllegalTransition with errors.Is.
type TransitionError struct {
	ID     string
	Action Action
	Status Status
	Hint   string // what to do instead, for the agent reading the message
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("ticket %s: cannot %s a ticket that is %s: %s", e.ID, verb(e.Action), describe(e.Status), e.Hint)
}

// Unwrap makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

func verb(a Action) string {
	switch a {
	case ActionFollowUp:
		return "start the follow-up of"
	case ActionNote:
		return "add a note to"
	}
	return string(a)
}

func describe(st Status) string {
	switch st {
	case StatusInProgress:
		return "in progress"
	case StatusFollowUp:
		return "awaiting follow-up"
	}
	return string(st)
}

// forward is the order in which hint searches for the missing steps; only
// the main line, so that the advice is the ordinary way forward.
var forward = []Action{ActionRegister, ActionAssign, ActionStart, ActionResolve}

// hint says what an agent should do instead of an illegal action a on a
// ticket in status st.
func hint(st Status, a Action) string {
	r := transitionsTable[a]
	switch {
	case a == ActionReopen && st.Open():
		return "it is still open; urge or supervise it instead"
	case r.to == st:
		return "it is already " + describe(st)
	case slices.Contains(afterResolution, st) && slices.Contains(forward[:3], a):
		return "it has been handled already; reopen it to handle it again"
	case slices.Contains(afterResolution, st):
		return "reopen it first"
	case a == ActionAssign:
		return "it is already assigned; transfer it instead"
	}
	// Shortest run of main-line steps after which a is allowed.
	var steps []string
	cur := st
	for range forward {
		var next Status
		for _, f := range forward {
			if to, ok := f.Result(cur); ok {
				steps, next = append(steps, string(f)), to
				break
			}
		}
		if next == "" {
			break
		}
		cur = next
		if _, ok := a.Result(cur); ok {
			return joinSteps(steps) + " it first"
		}
	}
	return "it is past that step"
}

// joinSteps: "register", "register and assign", "register, assign and start".
func joinSteps(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// Apply performs one step of the life cycle on ticket id and returns the
// ticket as stored. The change, its audit entry (with From / To, see
// AuditEntry) and the ticket's open and deadline index entries are written
// in one transaction; when the action is refused nothing is written.
//
// Errors: ErrNotFound; ErrIllegalTransition (a *TransitionError) when the
// status does not allow the action; ErrInvalid when the change lacks what
// the action needs or carries what it does not take (see Change). Checks
// that need no ticket come first, so a malformed change costs no round
// trip.
func (s *Store) Apply(ctx context.Context, id string, c Change) (Ticket, error) {
	if err := c.normalise(); err != nil {
		return Ticket{}, err
	}
	tax := s.taxonomy()
	return s.updateTicket(ctx, id, func(t *Ticket, now time.Time) error {
		return c.apply(t, now, tax)
	})
}

// normalise trims the change and checks what can be checked without the
// ticket.
func (c *Change) normalise() error {
	for _, f := range []*string{&c.Actor, &c.Note, &c.AssignTo, &c.Result, &c.Level, &c.Grade, &c.FollowUp,
		&c.Class, &c.Subject, &c.Responsibility, &c.Cause, &c.Measure, &c.Decision} {
		*f = strings.TrimSpace(*f)
	}
	a := c.Action
	if !a.Known() {
		return fmt.Errorf("%w: unknown action %q (actions: %s)", ErrInvalid, a, actionList())
	}
	if c.Actor == "" {
		// Every step is recorded with who did it (首问负责制 needs an owner).
		return fmt.Errorf("%w: %s needs an actor", ErrInvalid, a)
	}
	takes := func(field, value string, ok bool) error {
		if value != "" && !ok {
			return fmt.Errorf("%w: %s does not take %s (%q)", ErrInvalid, a, field, value)
		}
		return nil
	}
	for _, err := range []error{
		takes("an assignee", c.AssignTo, a == ActionAssign || a == ActionTransfer),
		takes("a result", c.Result, a == ActionResolve),
		takes("a level", c.Level, a == ActionEscalate),
		takes("a grade", c.Grade, a == ActionEscalate || a == ActionClassify),
		takes("a follow-up outcome", c.FollowUp, a == ActionFollowUp || a == ActionClose || a == ActionReopen),
		takes("a class", c.Class, a == ActionClassify),
		takes("a subject", c.Subject, a == ActionClassify),
		takes("a responsibility", c.Responsibility, a == ActionVerify),
		takes("a cause", c.Cause, a == ActionInvestigate),
		takes("a measure", c.Measure, a == ActionInvestigate),
		takes("a decision", c.Decision, a == ActionDecide),
	} {
		if err != nil {
			return err
		}
	}
	needsNote := a == ActionEscalate || a == ActionReopen || a == ActionNote || a == ActionContact ||
		a == ActionPropose || a == ActionProgress || a == ActionWarn
	switch {
	case (a == ActionAssign || a == ActionTransfer) && c.AssignTo == "":
		return fmt.Errorf("%w: %s needs someone to assign it to", ErrInvalid, a)
	case a == ActionResolve && c.Result == "":
		return fmt.Errorf("%w: resolve needs the handling result", ErrInvalid)
	case a == ActionEscalate && c.Level == "":
		return fmt.Errorf("%w: escalate needs the ladder level to escalate to", ErrInvalid)
	case needsNote && c.Note == "":
		return fmt.Errorf("%w: %s needs a note (%s)", ErrInvalid, a, noteFor(a))
	case c.Grade != "" && !ValidGrade(c.Grade):
		return fmt.Errorf("%w: unknown grade %q (want V, IV, III, II or I)", ErrInvalid, c.Grade)
	case c.FollowUp != "" && !ValidFollowUp(c.FollowUp):
		return fmt.Errorf("%w: unknown follow-up outcome %q", ErrInvalid, c.FollowUp)
	case a == ActionClassify && c.Class == "" && c.Subject == "" && c.Grade == "":
		return fmt.Errorf("%w: classify needs a class and subject, a grade, or (for a report) a subject", ErrInvalid)
	case a == ActionVerify && c.Responsibility != ResponsibilityCustomer && c.Responsibility != ResponsibilityUtility:
		return fmt.Errorf("%w: verify needs the responsibility: %q or %q (got %q)", ErrInvalid,
			ResponsibilityCustomer, ResponsibilityUtility, c.Responsibility)
	case a == ActionInvestigate && (c.Cause == "" || c.Measure == ""):
		// 四不放过: no investigation report without both.
		return fmt.Errorf("%w: investigate needs the root cause and the corrective measure (四不放过)", ErrInvalid)
	case a == ActionDecide && !ValidDecision(c.Decision):
		return fmt.Errorf("%w: decide needs a decision: %s, %s, %s or %s (got %q)", ErrInvalid,
			DecisionUpheld, DecisionNotUpheld, DecisionMalicious, DecisionAverted, c.Decision)
	}
	for _, d := range c.Deadlines {
		if d.Kind == "" || d.Group == "" || d.Due.IsZero() {
			return fmt.Errorf("%w: a deadline needs a kind, a group and a due time", ErrInvalid)
		}
	}
	return nil
}

func noteFor(a Action) string {
	switch a {
	case ActionContact:
		return "how the customer was contacted and what they were told"
	case ActionPropose:
		return "the proposed handling"
	case ActionProgress:
		return "what the customer was told"
	case ActionWarn:
		return "why the complaint may escalate"
	}
	return "saying why"
}

func actionList() string {
	names := make([]string, len(actionsInOrder))
	for i, a := range actionsInOrder {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// apply changes t in place, or refuses without touching it. tax checks
// classifications (nil accepts any ids).
func (c Change) apply(t *Ticket, now time.Time, tax Taxonomy) error {
	a := c.Action
	to, ok := a.Result(t.Status)
	if !ok && a == ActionResolve && t.Status.Open() && t.Type == TypeFault &&
		(t.ParentID != "" || len(t.Children) > 0 || (t.Phone == "" && t.Account == "")) {
		// An order merged under an outage, or the outage's own parent order
		// (raised with no caller), is handled by the crew working the
		// outage, whatever step the order itself had reached.
		to, ok = StatusResolved, true
	}
	if !ok {
		return &TransitionError{ID: t.ID, Action: a, Status: t.Status, Hint: hint(t.Status, a)}
	}
	e := AuditEntry{At: now, Actor: c.Actor, Action: string(a), Note: c.Note}
	if to != t.Status {
		e.From, e.To = string(t.Status), string(to)
	}
	var details []string // facts appended to the audit note

	switch a {
	case ActionRegister:
		// Registration is done with the customer: it counts as contact.
		if t.ContactedAt.IsZero() {
			t.ContactedAt = now
		}
		t.meet(now, DeadlineContact)
	case ActionAssign, ActionTransfer:
		if a == ActionTransfer && c.AssignTo == t.AssignedTo {
			return fmt.Errorf("%w: ticket %s is already assigned to %s", ErrInvalid, t.ID, c.AssignTo)
		}
		e.From, e.To = t.AssignedTo, c.AssignTo
		t.AssignedTo = c.AssignTo
	case ActionResolve:
		t.Result, t.ResolvedAt = c.Result, now
		details = append(details, "result: "+c.Result)
		// The answer is the handling result given to the customer: every
		// deadline of the handling is met now (late if past due).
		t.meet(now, DeadlineVerify, DeadlineContact, DeadlineProgress, DeadlineAnswer)
	case ActionFollowUp:
		// A new round of follow-up: an outcome from an earlier round (before
		// a reopen) no longer applies. From follow-up it records the outcome.
		if t.Status == StatusFollowUp && c.FollowUp == "" {
			return fmt.Errorf("%w: ticket %s is already awaiting follow-up: give the outcome", ErrInvalid, t.ID)
		}
		t.FollowUp = c.FollowUp
	case ActionClose:
		if err := c.checkClose(t); err != nil {
			return err
		}
		t.FollowUp, t.ClosedAt = orDefault(c.FollowUp, t.FollowUp), now
		t.meet(now, DeadlineRegulator)
	case ActionUrge:
		e.From, e.To = strconv.Itoa(t.UrgeCount), strconv.Itoa(t.UrgeCount+1)
		t.UrgeCount++
	case ActionSupervise:
		e.From, e.To = strconv.Itoa(t.SuperviseCount), strconv.Itoa(t.SuperviseCount+1)
		t.SuperviseCount++
	case ActionReopen:
		if c.FollowUp != "" {
			t.FollowUp = c.FollowUp
		}
		t.ClosedAt = time.Time{}
	case ActionEscalate:
		grade := t.Grade
		if c.Grade != "" {
			if err := validateGrade(t.Type, c.Grade); err != nil {
				return fmt.Errorf("ticket %s: %w", t.ID, err)
			}
			grade = c.Grade
		}
		if c.Level == t.EscalationLevel && grade == t.Grade {
			return fmt.Errorf("%w: ticket %s is already at level %s", ErrInvalid, t.ID, c.Level)
		}
		e.From, e.To = t.EscalationLevel, c.Level
		if grade != t.Grade {
			details = append(details, fmt.Sprintf("grade %s → %s", orNone(t.Grade), grade))
		}
		t.EscalationLevel, t.Grade = c.Level, grade
	default:
		d, err := c.applyLoop(t, now, tax, &e)
		if err != nil {
			return err
		}
		details = append(details, d...)
	}

	if c.EndMissed {
		for _, d := range t.endMissed(now) {
			details = append(details, fmt.Sprintf("%s deadline %s missed", d.Kind, d.Due.In(china.Zone).Format(time.DateTime)))
		}
	}
	if !c.ContactBy.IsZero() {
		c.Deadlines = append([]Deadline{{Kind: DeadlineContact, Group: GroupLimit, Due: c.ContactBy, Rule: "set by " + c.Actor}}, c.Deadlines...)
	}
	if !c.AnswerBy.IsZero() {
		c.Deadlines = append([]Deadline{{Kind: DeadlineAnswer, Group: GroupLimit, Due: c.AnswerBy, Rule: "set by " + c.Actor}}, c.Deadlines...)
	}
	for _, d := range c.Deadlines {
		t.addDeadline(d, now)
		details = append(details, d.Kind+" by "+d.Due.In(china.Zone).Format(time.DateTime))
	}
	t.syncDue()
	if c.FollowUp != "" {
		details = append(details, "follow-up: "+c.FollowUp)
	}
	if len(details) > 0 {
		e.Note = strings.Join(append(nonEmpty(c.Note), details...), "; ")
	}
	t.Status = to
	t.Audit = append(t.Audit, e)
	return nil
}

// checkClose refuses to file an order that is not done: an unhappy
// customer, a named reporter never followed up, a follow-up without its
// outcome, or a complaint without its root cause and corrective measure.
func (c Change) checkClose(t *Ticket) error {
	outcome := orDefault(c.FollowUp, t.FollowUp)
	switch {
	case outcome == FollowUpUnsatisfied:
		// Seed 001 §6: an unhappy customer's case goes back and is
		// supervised until they are satisfied; it is never filed as is.
		return &TransitionError{ID: t.ID, Action: c.Action, Status: t.Status,
			Hint: "the customer is not satisfied; reopen it and supervise it until they are"}
	case t.Status == StatusResolved && t.Named && outcome == "":
		// A named (实名) reporter always gets the follow-up call.
		return &TransitionError{ID: t.ID, Action: c.Action, Status: t.Status,
			Hint: "the reporter gave their name and must get the follow-up call; start the follow-up first"}
	case t.Status == StatusFollowUp && outcome == "":
		// Filing a follow-up without its outcome is an incomplete record.
		return fmt.Errorf("%w: closing ticket %s after its follow-up needs the outcome (satisfied or no_answer)", ErrInvalid, t.ID)
	case t.Type == TypeComplaint && (t.Cause == "" || t.Measure == ""):
		// 四不放过 (seed 001): no complaint is closed before its cause is
		// found and a corrective measure set.
		return &TransitionError{ID: t.ID, Action: c.Action, Status: t.Status,
			Hint: "四不放过: record its root cause and corrective measure first (the investigate action)"}
	}
	return nil
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
