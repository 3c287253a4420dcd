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
//
// A field an action does not take is refused rather than silently dropped.
// Every action takes Actor (required), Note and new ContactBy / AnswerBy
// deadlines (zero leaves them as they are), e.g. the next rung's deadline
// with an escalation or a fresh one with a reopen.
type Change struct {
	Action   Action
	Actor    string
	Note     string
	AssignTo string
	Result   string
	Level    string
	Grade    string
	FollowUp string
	// ContactBy and AnswerBy, when not zero, replace the ticket's deadlines.
	ContactBy time.Time
	AnswerBy  time.Time
}

// rule is one row of the transition table: the statuses an action may be
// applied in, and the status it leads to ("" = unchanged).
type rule struct {
	from []Status
	to   Status
}

var (
	openStatuses     = []Status{StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress}
	notClosed        = []Status{StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress, StatusResolved, StatusFollowUp}
	afterResolution  = []Status{StatusResolved, StatusFollowUp, StatusClosed}
	everyStatus      = Statuses()
	actionsInOrder   = []Action{ActionRegister, ActionAssign, ActionTransfer, ActionStart, ActionResolve, ActionFollowUp, ActionClose, ActionUrge, ActionSupervise, ActionReopen, ActionEscalate, ActionNote}
	transitionsTable = map[Action]rule{
		ActionRegister:  {from: []Status{StatusAccepted}, to: StatusRegistered},
		ActionAssign:    {from: []Status{StatusRegistered}, to: StatusAssigned},
		ActionTransfer:  {from: []Status{StatusAssigned, StatusInProgress}, to: StatusAssigned},
		ActionStart:     {from: []Status{StatusAssigned}, to: StatusInProgress},
		ActionResolve:   {from: []Status{StatusInProgress}, to: StatusResolved},
		ActionFollowUp:  {from: []Status{StatusResolved}, to: StatusFollowUp},
		ActionClose:     {from: []Status{StatusResolved, StatusFollowUp}, to: StatusClosed},
		ActionUrge:      {from: notClosed},
		ActionSupervise: {from: notClosed},
		ActionReopen:    {from: afterResolution, to: StatusInProgress},
		ActionEscalate:  {from: openStatuses},
		ActionNote:      {from: everyStatus},
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
	return s.updateTicket(ctx, id, func(t *Ticket, now time.Time) error {
		return c.apply(t, now)
	})
}

// normalise trims the change and checks what can be checked without the
// ticket.
func (c *Change) normalise() error {
	c.Actor, c.Note = strings.TrimSpace(c.Actor), strings.TrimSpace(c.Note)
	c.AssignTo, c.Result = strings.TrimSpace(c.AssignTo), strings.TrimSpace(c.Result)
	c.Level, c.Grade, c.FollowUp = strings.TrimSpace(c.Level), strings.TrimSpace(c.Grade), strings.TrimSpace(c.FollowUp)
	a := c.Action
	if !a.Known() {
		return fmt.Errorf("%w: unknown action %q", ErrInvalid, a)
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
		takes("a grade", c.Grade, a == ActionEscalate),
		takes("a follow-up outcome", c.FollowUp, a == ActionFollowUp || a == ActionClose || a == ActionReopen),
	} {
		if err != nil {
			return err
		}
	}
	switch {
	case (a == ActionAssign || a == ActionTransfer) && c.AssignTo == "":
		return fmt.Errorf("%w: %s needs someone to assign it to", ErrInvalid, a)
	case a == ActionResolve && c.Result == "":
		return fmt.Errorf("%w: resolve needs the handling result", ErrInvalid)
	case a == ActionEscalate && c.Level == "":
		return fmt.Errorf("%w: escalate needs the ladder level to escalate to", ErrInvalid)
	case (a == ActionEscalate || a == ActionReopen || a == ActionNote) && c.Note == "":
		return fmt.Errorf("%w: %s needs a note saying why", ErrInvalid, a)
	case c.Grade != "" && !ValidGrade(c.Grade):
		return fmt.Errorf("%w: unknown grade %q (want V, IV, III, II or I)", ErrInvalid, c.Grade)
	case c.FollowUp != "" && !ValidFollowUp(c.FollowUp):
		return fmt.Errorf("%w: unknown follow-up outcome %q", ErrInvalid, c.FollowUp)
	}
	return nil
}

// apply changes t in place, or refuses without touching it.
func (c Change) apply(t *Ticket, now time.Time) error {
	a := c.Action
	to, ok := a.Result(t.Status)
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
		if t.ContactedAt.IsZero() {
			t.ContactedAt = now
		}
	case ActionAssign, ActionTransfer:
		if a == ActionTransfer && c.AssignTo == t.AssignedTo {
			return fmt.Errorf("%w: ticket %s is already assigned to %s", ErrInvalid, t.ID, c.AssignTo)
		}
		e.From, e.To = t.AssignedTo, c.AssignTo
		t.AssignedTo = c.AssignTo
	case ActionResolve:
		t.Result = c.Result
		details = append(details, "result: "+c.Result)
	case ActionFollowUp:
		// A new round of follow-up: an outcome from an earlier round (before
		// a reopen) no longer applies.
		t.FollowUp = c.FollowUp
	case ActionClose:
		outcome := t.FollowUp
		if c.FollowUp != "" {
			outcome = c.FollowUp
		}
		switch {
		case outcome == FollowUpUnsatisfied:
			// Seed 001 §6: an unhappy customer's case goes back and is
			// supervised until they are satisfied; it is never filed as is.
			return &TransitionError{ID: t.ID, Action: a, Status: t.Status,
				Hint: "the customer is not satisfied; reopen it and supervise it until they are"}
		case t.Status == StatusResolved && t.Named && outcome == "":
			// A named (实名) reporter always gets the follow-up call.
			return &TransitionError{ID: t.ID, Action: a, Status: t.Status,
				Hint: "the reporter gave their name and must get the follow-up call; start the follow-up first"}
		case t.Status == StatusFollowUp && outcome == "":
			// Filing a follow-up without its outcome is an incomplete record.
			return fmt.Errorf("%w: closing ticket %s after its follow-up needs the outcome (satisfied or no_answer)", ErrInvalid, t.ID)
		}
		t.FollowUp, t.ClosedAt = outcome, now
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
	}

	if !c.ContactBy.IsZero() {
		t.ContactBy = c.ContactBy
		details = append(details, "contact by "+c.ContactBy.In(china.Zone).Format(time.DateTime))
	}
	if !c.AnswerBy.IsZero() {
		t.AnswerBy = c.AnswerBy
		details = append(details, "answer by "+c.AnswerBy.In(china.Zone).Format(time.DateTime))
	}
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
