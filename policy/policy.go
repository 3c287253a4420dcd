// Package policy holds every time limit and policy figure of the work-order
// (工单) system — contact and answer limits per ticket type, the complaint
// escalation ladder and grades, the follow-up call rules, the complaint
// taxonomy — and the working-day arithmetic those limits need.
//
// The figures live in a versioned YAML policy file, never in code, because
// provinces and revisions differ (State Grid Jiangsu answers complaints in 4
// working days; the 2011 commitments said 7). default.yaml is compiled in and
// documents the source of every figure; Load reads an operator's own file.
// The holiday calendar is data too, one file per year under calendar/.
//
// A *Policy is immutable after loading and safe for concurrent use; to change
// policy, load a new one and swap the pointer.
package policy

import (
	"strings"
	"time"
)

// TicketTypes are the work-order types every policy must give limits for.
// They mirror tickets.Type; the names are an enumeration, not policy.
var TicketTypes = []string{"fault", "complaint", "report", "consultation", "service", "opinion", "suggestion", "praise"}

// Grades are the five complaint-event grades of seed 001 §5, least severe
// first: V solved inside the supply station … I needs the bureau leadership.
var Grades = []string{"V", "IV", "III", "II", "I"}

// Policy is a loaded, validated policy file.
type Policy struct {
	callbacks             CallbackPolicy
	queues                map[string]Queue
	desk                  AgentDesk
	records               Records
	serviceLevel          ServiceLevel
	recordings            Recordings
	survey                Survey
	name, version, source string

	limits         map[string]typeLimits
	esc            Escalation
	ladder         []Level
	followUp       FollowUpPolicy
	classes        []Class
	subjects       []Subject
	reportSubjects []Subject
	cal            *Calendar
	warnings       []string

	scoring Scoring
	warn    EarlyWarning
	outages OutagePolicy
	report  ReportPolicy
}

// Limit is the set of limits for one ticket type or sub-type.
type Limit struct {
	Contact  Span // first contact with the customer
	Progress Span // interim progress report; zero when the policy sets none
	Answer   Span // handled and answered
}

type typeLimits struct {
	base Limit
	sub  map[string]Limit // sub-type → limit, unset fields inherited from base
}

// Escalation holds the complaint-handling figures around the ladder (seed
// 001 §4, and the 12398 regulator rule).
type Escalation struct {
	VerifyWithin      Span // decide whose responsibility the complaint is
	ContactIfCustomer Span // contact the customer when it is the customer's
	ContactIfUtility  Span // contact the customer when it is the utility's
	CallbackWithin    Span // the leadership calls the customer back
	RegulatorWithin   Span // close a complaint escalated to 12398
}

// Level is one rung of the complaint escalation ladder.
type Level struct {
	ID     string // e.g. "station_head"
	Name   string // e.g. "供电所长"
	Grade  string // complaint-event grade a complaint at this level has: V … I
	Within Span   // time this level has to solve it before it goes up
}

// FollowUpPolicy is how the result of a complaint or report is followed up
// with the customer (回访, seed 001 §6).
type FollowUpPolicy struct {
	Window         time.Duration // first follow-up call within this of the result (clock time)
	MaxAttempts    int           // calls before giving up on an unanswered customer
	Retry          time.Duration // wait between unanswered attempts
	AlwaysForNamed bool          // a named (signed) reporter is always called back
}

// Class is a complaint class (服务, 营业, …).
type Class struct {
	ID, Name string
}

// Subject is a complaint or report subject. Class is empty for report subjects.
type Subject struct {
	ID, Name, Class string
}

// Name is the file the policy was read from.
func (p *Policy) Name() string { return p.name }

// Version is the policy's declared version, for logs and ticket records: a
// ticket should record which policy version set its deadlines.
func (p *Policy) Version() string { return p.version }

// Source is the policy's free-text provenance.
func (p *Policy) Source() string { return p.source }

// Warnings lists problems that do not stop loading, such as years missing
// from the holiday calendar.
func (p *Policy) Warnings() []string { return append([]string(nil), p.warnings...) }

// Calendar is the policy's working-day calendar.
func (p *Policy) Calendar() *Calendar { return p.cal }

// Limits returns the contact and answer limits for a ticket type and optional
// sub-type (for complaints, the complaint class). A sub-type the policy does
// not list falls back to the type's limits, and a listed sub-type inherits
// the fields it does not set. ok is false only for an unknown ticket type.
func (p *Policy) Limits(ticketType, subtype string) (contact, answer Span, ok bool) {
	l, ok := p.limit(ticketType, subtype)
	return l.Contact, l.Answer, ok
}

// Progress returns the interim progress-report limit for a ticket type and
// sub-type (e.g. supply-quality complaints: 3 working days), with the same
// fallback as Limits. ok is false when none applies.
func (p *Policy) Progress(ticketType, subtype string) (Span, bool) {
	l, ok := p.limit(ticketType, subtype)
	return l.Progress, ok && !l.Progress.IsZero()
}

func (p *Policy) limit(ticketType, subtype string) (Limit, bool) {
	tl, ok := p.limits[ticketType]
	if !ok {
		return Limit{}, false
	}
	if l, ok := tl.sub[subtype]; ok && subtype != "" {
		return l, true
	}
	return tl.base, true
}

// Due returns from + s in China time using the policy's calendar; see
// Calendar.Deadline for the arithmetic of each unit.
func (p *Policy) Due(from time.Time, s Span) time.Time {
	t, _ := p.cal.Deadline(from, s)
	return t
}

// Deadline is Due plus a flag that is false when a working-day count crossed
// a year the calendar has no data for (the result then assumed
// Monday–Friday); callers should log it so operators add the year's file.
func (p *Policy) Deadline(from time.Time, s Span) (time.Time, bool) {
	return p.cal.Deadline(from, s)
}

// Escalation returns the complaint-handling figures around the ladder.
func (p *Policy) Escalation() Escalation { return p.esc }

// Ladder returns the escalation ladder, lowest level first.
func (p *Policy) Ladder() []Level { return append([]Level(nil), p.ladder...) }

// NextLevel returns the level above current. An empty current returns the
// first level, where every complaint starts (首问负责制). ok is false at the
// top of the ladder or for an unknown level.
func (p *Policy) NextLevel(current string) (Level, bool) {
	if current == "" {
		if len(p.ladder) == 0 { // only a zero Policy; loading rejects an empty ladder
			return Level{}, false
		}
		return p.ladder[0], true
	}
	for i, l := range p.ladder {
		if l.ID == current {
			if i+1 < len(p.ladder) {
				return p.ladder[i+1], true
			}
			return Level{}, false
		}
	}
	return Level{}, false
}

// FollowUp returns the follow-up call policy.
func (p *Policy) FollowUp() FollowUpPolicy { return p.followUp }

// Classes returns the complaint classes in file order.
func (p *Policy) Classes() []Class { return append([]Class(nil), p.classes...) }

// Subjects returns the complaint subjects in file order.
func (p *Policy) Subjects() []Subject { return append([]Subject(nil), p.subjects...) }

// ReportSubjects returns the report (举报) subjects in file order.
func (p *Policy) ReportSubjects() []Subject { return append([]Subject(nil), p.reportSubjects...) }

// Subject looks a complaint subject up by id, e.g. to find its class.
func (p *Policy) Subject(id string) (Subject, bool) {
	for _, s := range p.subjects {
		if s.ID == id {
			return s, true
		}
	}
	return Subject{}, false
}

// ValidSubject reports whether subject is a complaint subject of class.
func (p *Policy) ValidSubject(class, subject string) bool {
	s, ok := p.Subject(subject)
	return ok && s.Class == class
}

// Error is a policy or calendar file that failed validation. Each problem
// reads "file:line: field.path: message" (the line when it is known).
type Error struct {
	Problems []string
}

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }
