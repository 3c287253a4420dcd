package tickets

import (
	"fmt"
	"strings"
	"time"
)

// applyLoop applies the closed-loop actions that do not move the status
// (classify, verify, contact, propose, progress, investigate, decide,
// warn) to t, filling the audit entry e; it returns facts for the note.
func (c Change) applyLoop(t *Ticket, now time.Time, tax Taxonomy, e *AuditEntry) ([]string, error) {
	switch c.Action {
	case ActionClassify:
		return c.classify(t, tax, e)
	case ActionVerify:
		if t.Type != TypeComplaint {
			return nil, fmt.Errorf("%w: ticket %s is a %s order: only a complaint is verified (whose responsibility it is)", ErrInvalid, t.ID, t.Type)
		}
		e.From, e.To = t.Responsibility, c.Responsibility
		t.Responsibility, t.VerifiedAt = c.Responsibility, now
		t.meet(now, DeadlineVerify)
		return []string{"responsibility: " + c.Responsibility}, nil
	case ActionContact:
		if t.ContactedAt.IsZero() {
			t.ContactedAt = now
		}
		// Any contact keeps the promise to contact, and the leadership's
		// call back (seed 001 §4.9) when they made it.
		t.meet(now, DeadlineContact, DeadlineCallback)
	case ActionPropose:
		e.From, e.To = "", "proposed"
		t.Proposal = c.Note
	case ActionProgress:
		t.ProgressAt = now
		t.meet(now, DeadlineProgress)
	case ActionInvestigate:
		t.Cause, t.Measure, t.InvestigatedAt = c.Cause, c.Measure, now
		return []string{"cause: " + c.Cause, "measure: " + c.Measure}, nil
	case ActionDecide:
		if t.Type != TypeComplaint && t.Type != TypeReport {
			return nil, fmt.Errorf("%w: ticket %s is a %s order: only complaints and reports (举报) get a decision", ErrInvalid, t.ID, t.Type)
		}
		if c.Decision == DecisionAverted && (t.Channel == Channel95598 || t.Channel == Channel12398) {
			return nil, fmt.Errorf("%w: ticket %s came in by %s: a complaint that reached 95598 or 12398 was not averted", ErrInvalid, t.ID, t.Channel)
		}
		e.From, e.To = t.Decision, c.Decision
		t.Decision = c.Decision
		return []string{"decision: " + c.Decision}, nil
	case ActionWarn:
		if t.Type != TypeComplaint {
			return nil, fmt.Errorf("%w: ticket %s is a %s order: the early-warning report is for complaints", ErrInvalid, t.ID, t.Type)
		}
		t.WarnedAt = now
	}
	return nil, nil
}

// classify sets a complaint's class, subject and grade, or a report's
// subject, checked against the taxonomy (nil accepts any ids).
func (c Change) classify(t *Ticket, tax Taxonomy, e *AuditEntry) ([]string, error) {
	switch t.Type {
	case TypeComplaint:
		if (c.Class == "") != (c.Subject == "") {
			return nil, fmt.Errorf("%w: class and subject go together (class %q, subject %q)", ErrInvalid, c.Class, c.Subject)
		}
		if tax != nil && c.Class != "" {
			switch {
			case !tax.ValidClass(c.Class):
				return nil, fmt.Errorf("%w: unknown complaint class %q", ErrInvalid, c.Class)
			case !tax.ValidSubject(c.Class, c.Subject):
				return nil, fmt.Errorf("%w: %q is not a complaint subject of class %q", ErrInvalid, c.Subject, c.Class)
			}
		}
	case TypeReport:
		switch {
		case c.Class != "":
			return nil, fmt.Errorf("%w: a report (举报) has no complaint class (got %q): give its subject only", ErrInvalid, c.Class)
		case c.Grade != "":
			return nil, fmt.Errorf("%w: only complaints are graded; a report (举报) takes its subject only", ErrInvalid)
		case c.Subject == "":
			return nil, fmt.Errorf("%w: classifying a report (举报) needs its subject", ErrInvalid)
		case tax != nil && !tax.ValidReportSubject(c.Subject):
			return nil, fmt.Errorf("%w: unknown report subject %q", ErrInvalid, c.Subject)
		}
	default:
		return nil, fmt.Errorf("%w: ticket %s is a %s order: only complaints and reports (举报) are classified", ErrInvalid, t.ID, t.Type)
	}
	before := classification(t.Class, t.Subject, t.Grade)
	if c.Class != "" || t.Type == TypeReport {
		t.Class, t.Subject = c.Class, c.Subject
	}
	if c.Grade != "" {
		t.Grade = c.Grade
	}
	after := classification(t.Class, t.Subject, t.Grade)
	if before == after {
		return nil, fmt.Errorf("%w: ticket %s is already classified %s", ErrInvalid, t.ID, after)
	}
	e.From, e.To = before, after
	return nil, nil
}

// classification reads "class/subject grade" for the audit trail.
func classification(class, subject, grade string) string {
	s := strings.Trim(class+"/"+subject, "/")
	if grade != "" {
		s = strings.TrimSpace(s + " " + grade)
	}
	return s
}
