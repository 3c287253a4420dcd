package tickets

import (
	"time"
)

// Deadline kinds: what a deadline asks to be done.
const (
	DeadlineVerify    = "verify"    // decide whose responsibility the complaint is (seed 001 §4.3)
	DeadlineContact   = "contact"   // contact the customer
	DeadlineProgress  = "progress"  // tell the customer how the handling is going
	DeadlineAnswer    = "answer"    // handle and answer (a rung's deadline is one too)
	DeadlineCallback  = "callback"  // the leadership calls the customer back (seed 001 §4.9)
	DeadlineRegulator = "regulator" // a 12398 item closed within its limit
)

// DeadlineKinds lists the kinds, for metrics and reports.
func DeadlineKinds() []string {
	return []string{DeadlineVerify, DeadlineContact, DeadlineProgress, DeadlineAnswer, DeadlineCallback, DeadlineRegulator}
}

// Deadline groups: why a deadline was set. A new deadline replaces the
// active one of the same kind and group; deadlines of other groups stand.
const (
	GroupLimit      = "limit"      // the order's own limits (policy limits per type and sub-type)
	GroupRung       = "rung"       // the escalation ladder: the rung that owns the order now
	GroupVerify     = "verify"     // set by verifying whose responsibility it is
	GroupLeadership = "leadership" // the leadership's call back at the top rung
	GroupRegulator  = "regulator"  // the 12398 rule
)

// How a deadline ended without being met.
const (
	EndMissed   = "missed"   // it passed and the watcher acted on it (escalated or supervised)
	EndReplaced = "replaced" // a newer deadline of the same kind and group took its place
)

// Deadline is one deadline ever set on an order, kept with whether it was
// met. Nothing is ever removed from Ticket.Deadlines: the original contact
// and answer deadlines stay when a rung or a reclassification sets new
// ones, so a breach never disappears from the record.
type Deadline struct {
	Kind  string    `json:"kind"`
	Group string    `json:"group"`
	Level string    `json:"level,omitempty"` // the rung a GroupRung deadline belongs to
	Rule  string    `json:"rule,omitempty"`  // the policy key that set it
	Due   time.Time `json:"due"`
	SetAt time.Time `json:"set_at"`
	// MetAt is when what it asked for was done; after Due means done late.
	MetAt time.Time `json:"met_at,omitzero"`
	// EndedAt and End: it stopped being watched without being met.
	EndedAt time.Time `json:"ended_at,omitzero"`
	End     string    `json:"end,omitempty"`
	Ref     string    `json:"ref,omitempty"` // e.g. the callback that keeps it
}

// Active reports whether the deadline is still to be met.
func (d Deadline) Active() bool { return d.MetAt.IsZero() && d.EndedAt.IsZero() }

// Deadline states, see State.
const (
	StatePending  = "pending"  // active, due later
	StateOverdue  = "overdue"  // active, past due
	StateMet      = "met"      // done by the due time
	StateLate     = "late"     // done after the due time
	StateMissed   = "missed"   // passed and was acted on, never done
	StateReplaced = "replaced" // replaced before it was due
)

// State says where the deadline stands at now.
func (d Deadline) State(now time.Time) string {
	switch {
	case !d.MetAt.IsZero() && !d.MetAt.After(d.Due):
		return StateMet
	case !d.MetAt.IsZero():
		return StateLate
	case !d.EndedAt.IsZero() && d.EndedAt.After(d.Due):
		return StateMissed
	case !d.EndedAt.IsZero():
		return StateReplaced
	case now.After(d.Due):
		return StateOverdue
	}
	return StatePending
}

// Breached reports whether the deadline was or is being broken at now.
func (d Deadline) Breached(now time.Time) bool {
	switch d.State(now) {
	case StateLate, StateMissed, StateOverdue:
		return true
	}
	return false
}

// Original returns the order's original deadline of a kind: the first one
// its own limits set that was not replaced before it was due (a
// reclassification may set the limits again before then). ok is false when
// there is none.
func (t Ticket) Original(kind string) (Deadline, bool) {
	for _, d := range t.Deadlines {
		if d.Kind == kind && d.Group == GroupLimit && !(d.End == EndReplaced && !d.EndedAt.After(d.Due)) {
			return d, true
		}
	}
	return Deadline{}, false
}

// addDeadline appends d (stamped set at now), ending the active deadline of
// the same kind and group: missed when it had already passed, replaced
// otherwise. It returns d as stored.
func (t *Ticket) addDeadline(d Deadline, now time.Time) Deadline {
	d.SetAt = now
	d.MetAt, d.EndedAt, d.End = time.Time{}, time.Time{}, ""
	for i := range t.Deadlines {
		o := &t.Deadlines[i]
		if o.Active() && o.Kind == d.Kind && o.Group == d.Group {
			o.EndedAt, o.End = now, EndReplaced
			if now.After(o.Due) {
				o.End = EndMissed
			}
		}
	}
	t.Deadlines = append(t.Deadlines, d)
	return d
}

// meet marks the active deadlines of the given kinds met at now.
func (t *Ticket) meet(now time.Time, kinds ...string) {
	for i := range t.Deadlines {
		d := &t.Deadlines[i]
		if !d.Active() {
			continue
		}
		for _, k := range kinds {
			if d.Kind == k {
				d.MetAt = now
			}
		}
	}
}

// endMissed ends every active deadline that is past due at now, as missed,
// and returns them; the watcher does so when it acts on a miss.
func (t *Ticket) endMissed(now time.Time) []Deadline {
	var out []Deadline
	for i := range t.Deadlines {
		d := &t.Deadlines[i]
		if d.Active() && now.After(d.Due) {
			d.EndedAt, d.End = now, EndMissed
			out = append(out, *d)
		}
	}
	return out
}

// syncDue keeps ContactBy and AnswerBy, the deadlines agents, callers and
// older readers look at, equal to the active contact and answer deadlines:
// the order's own (the promise to the customer) while it stands, else the
// earliest other one (a rung's). When none is active they keep their last
// value.
func (t *Ticket) syncDue() {
	if c, ok := t.promised(DeadlineContact); ok {
		t.ContactBy = c
	}
	if a, ok := t.promised(DeadlineAnswer); ok {
		t.AnswerBy = a
	}
}

func (t Ticket) promised(kind string) (time.Time, bool) {
	for _, d := range t.Deadlines {
		if d.Active() && d.Kind == kind && d.Group == GroupLimit {
			return d.Due, true
		}
	}
	return t.earliest(kind)
}

func (t Ticket) earliest(kind string) (time.Time, bool) {
	var best time.Time
	for _, d := range t.Deadlines {
		if d.Active() && d.Kind == kind && (best.IsZero() || d.Due.Before(best)) {
			best = d.Due
		}
	}
	return best, !best.IsZero()
}

// NextDeadline is the earliest deadline the order still has to meet, zero
// when none. A closed order has none. The watcher acts on it, so only
// deadlines the handling of an open order can miss count while it is
// open; after resolution only the ones that run to the close (a 12398
// item's) and the leadership's call back remain.
//
// Orders stored before Deadlines existed fall back to ContactBy (until the
// customer has been contacted) and AnswerBy while open.
func (t Ticket) NextDeadline() time.Time {
	if t.Status == StatusClosed {
		return time.Time{}
	}
	if len(t.Deadlines) == 0 {
		if !t.Status.Open() {
			return time.Time{}
		}
		var d time.Time
		if t.ContactedAt.IsZero() && !t.ContactBy.IsZero() {
			d = t.ContactBy
		}
		if !t.AnswerBy.IsZero() && (d.IsZero() || t.AnswerBy.Before(d)) {
			d = t.AnswerBy
		}
		return d
	}
	var best time.Time
	for _, d := range t.Deadlines {
		if !d.Active() || (!t.Status.Open() && d.Kind != DeadlineRegulator && d.Kind != DeadlineCallback) {
			continue
		}
		if best.IsZero() || d.Due.Before(best) {
			best = d.Due
		}
	}
	return best
}

// OverdueDeadlines lists the deadlines still active and past due at now:
// those NextDeadline watches.
func (t Ticket) OverdueDeadlines(now time.Time) []Deadline {
	var out []Deadline
	for _, d := range t.Deadlines {
		if d.Active() && now.After(d.Due) && (t.Status.Open() || d.Kind == DeadlineRegulator || d.Kind == DeadlineCallback) {
			out = append(out, d)
		}
	}
	return out
}
