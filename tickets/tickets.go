// Package tickets stores the hotline's work orders (工单) and moves them
// through the 95598 closed loop (accept → register → assign → handle →
// resolve → follow up → close, with urge, supervise, escalate and reopen on
// the way); see Apply and Transitions.
//
// All state lives in Redis so that two controller replicas can serve one
// hotline. Key layout, with prefix P (default "hotline:"):
//
//	P ticket:<id>                 string  JSON of Ticket
//	P tickets:seq:<YYYYMMDD>      string  daily ID counter (INCR), expires after 3 days
//	P tickets:all                 zset    id, score = created unix ms
//	P tickets:by_type:<type>      zset    id, score = created unix ms
//	P tickets:by_phone:<phone>    zset    id, score = created unix ms
//	P tickets:by_account:<number> zset    id, score = created unix ms
//	P tickets:open                zset    open tickets (Status.Open), score = created unix ms
//	P tickets:open:<type>         zset    the same, per type (CountOpen)
//	P tickets:deadlines           zset    tickets with an active deadline, score = Ticket.NextDeadline unix ms
//
// A ticket and its index entries are written in one MULTI/EXEC under WATCH
// of the ticket (and, for a merged child, its parent), so a reader never
// sees one without the other and the open and deadline indexes always match
// the stored status. With Redis Cluster, give the prefix a hash tag (e.g.
// "{hotline}:") so that all keys live in one slot.
//
// Tickets stored before the open and deadline indexes existed join them on
// their next change.
package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/internal/durable"
)

// DefaultPrefix is the key prefix used when New is given an empty one.
const DefaultPrefix = "hotline:"

var (
	// ErrNotFound: no ticket with that ID.
	ErrNotFound = errors.New("tickets: not found")
	// ErrInvalid: the ticket or request failed validation.
	ErrInvalid = errors.New("tickets: invalid")
	// ErrSequenceExhausted: the day's 999999 IDs are used up.
	ErrSequenceExhausted = errors.New("tickets: daily sequence exhausted")
	// ErrConflict: an update kept losing races with other writers.
	ErrConflict = errors.New("tickets: too much contention")
	// ErrIllegalTransition: the action is not allowed in the ticket's
	// current status. The error is a *TransitionError saying which action,
	// which status and what to do instead.
	ErrIllegalTransition = errors.New("tickets: illegal transition")
)

// Type is the business type of a work order.
type Type string

const (
	TypeFault        Type = "fault"        // 故障报修
	TypeComplaint    Type = "complaint"    // 投诉
	TypeReport       Type = "report"       // 举报
	TypeConsultation Type = "consultation" // 咨询
	TypeService      Type = "service"      // 业务申请
	TypeOpinion      Type = "opinion"      // 意见
	TypeSuggestion   Type = "suggestion"   // 建议
	TypePraise       Type = "praise"       // 表扬
)

// Known reports whether t is one of the Type constants.
// TypeNames lists every work-order type, for what names one (a menu node
// that writes a ticket, an API client).
func TypeNames() []string {
	return []string{string(TypeFault), string(TypeComplaint), string(TypeReport), string(TypeConsultation),
		string(TypeService), string(TypeOpinion), string(TypeSuggestion), string(TypePraise)}
}

func (t Type) Known() bool {
	switch t {
	case TypeFault, TypeComplaint, TypeReport, TypeConsultation,
		TypeService, TypeOpinion, TypeSuggestion, TypePraise:
		return true
	}
	return false
}

// Types lists every Type, for per-type metrics and reports.
func Types() []Type {
	return []Type{TypeFault, TypeComplaint, TypeReport, TypeConsultation,
		TypeService, TypeOpinion, TypeSuggestion, TypePraise}
}

// Status is where a work order is in its life cycle.
type Status string

const (
	StatusAccepted   Status = "accepted"    // 受理: taken by the IVR or an agent
	StatusRegistered Status = "registered"  // 登记
	StatusAssigned   Status = "assigned"    // 派单
	StatusInProgress Status = "in_progress" // 处理中
	StatusResolved   Status = "resolved"    // 已处理
	StatusFollowUp   Status = "follow_up"   // 回访
	StatusClosed     Status = "closed"      // 归档
)

// Known reports whether s is one of the Status constants.
func (s Status) Known() bool {
	switch s {
	case StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress,
		StatusResolved, StatusFollowUp, StatusClosed:
		return true
	}
	return false
}

// Open reports whether the order is still being handled: accepted up to in
// progress. Resolved and follow-up orders are not open: the handling is
// done and its deadlines are met, and only the customer's verdict (which
// reopens it if unhappy) is outstanding.
func (s Status) Open() bool {
	switch s {
	case StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress:
		return true
	}
	return false
}

// Statuses lists every Status in life-cycle order.
func Statuses() []Status {
	return []Status{StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress,
		StatusResolved, StatusFollowUp, StatusClosed}
}

// Channels an order can arrive by.
const (
	Channel95598   = "95598"   // a call to the hotline (the default)
	Channel12398   = "12398"   // the energy regulator's hotline (escalated complaints)
	Channel12345   = "12345"   // the city government's service hotline
	ChannelCounter = "counter" // a service-hall counter
	ChannelLetter  = "letter"  // a letter or visit (信访)
	ChannelWeb     = "web"     // online: website, app, WeChat; also orders raised by staff
)

// ValidChannel reports whether c is one of the Channel constants.
func ValidChannel(c string) bool {
	switch c {
	case Channel95598, Channel12398, Channel12345, ChannelCounter, ChannelLetter, ChannelWeb:
		return true
	}
	return false
}

// Complaint event grades (seed 001), from V (solved inside the station) to
// I (needs the bureau's leadership). Only complaints carry a grade.
const (
	GradeV   = "V"
	GradeIV  = "IV"
	GradeIII = "III"
	GradeII  = "II"
	GradeI   = "I"
)

// ValidGrade reports whether g is one of the Grade constants.
func ValidGrade(g string) bool {
	switch g {
	case GradeV, GradeIV, GradeIII, GradeII, GradeI:
		return true
	}
	return false
}

// Follow-up (回访) outcomes recorded in Ticket.FollowUp.
const (
	FollowUpSatisfied   = "satisfied"
	FollowUpUnsatisfied = "unsatisfied"
	FollowUpNoAnswer    = "no_answer"
)

// ValidFollowUp reports whether o is a follow-up outcome ("" is not one).
func ValidFollowUp(o string) bool {
	return o == FollowUpSatisfied || o == FollowUpUnsatisfied || o == FollowUpNoAnswer
}

// Taxonomy decides which complaint / report class and subject ids exist.
// The taxonomy is policy data (it differs by province and revision), so the
// store is given one rather than knowing the list itself.
type Taxonomy interface {
	ValidSubject(class, subject string) bool
	ValidClass(class string) bool
	ValidReportSubject(subject string) bool
}

// Ticket is one work order.
type Ticket struct {
	ID          string       `json:"id"` // YYYYMMDD + 6-digit daily sequence
	Type        Type         `json:"type"`
	Status      Status       `json:"status"`
	Channel     string       `json:"channel"`
	Phone       string       `json:"phone"` // normalised, see accounts.NormalizePhone
	Account     string       `json:"account"`
	Name        string       `json:"name"`
	Address     string       `json:"address"`
	Area        string       `json:"area"`
	Transformer string       `json:"transformer"`
	CallID      string       `json:"call_id"`
	MenuPath    string       `json:"menu_path"`
	Note        string       `json:"note"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	Audit       []AuditEntry `json:"audit"`

	// Class and Subject are complaint / report taxonomy ids (e.g. class
	// "business", subject "wrong_meter_reading"); empty until classified.
	Class   string `json:"class,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Grade is the complaint event grade, GradeV..GradeI; "" for other types.
	Grade string `json:"grade,omitempty"`
	// Named: the reporter gave their name (实名). A named reporter must get
	// the follow-up call, so such an order cannot be closed without one.
	Named bool `json:"named"`
	// ParentID is set on a report merged under a parent order (many fault
	// reports from one transformer); Children lists them on the parent.
	ParentID string   `json:"parent_id,omitempty"`
	Children []string `json:"children,omitempty"`
	// AssignedTo is who handles it now (an agent, crew or station id).
	AssignedTo string `json:"assigned_to,omitempty"`
	// EscalationLevel is the ladder rung id (e.g. "staff"); the ladder is
	// policy data, so this package only stores the id.
	EscalationLevel string `json:"escalation_level,omitempty"`
	// Result is the handling result; resolving requires one.
	Result string `json:"result,omitempty"`
	// ContactBy and AnswerBy are the deadlines to contact the customer and
	// to answer them. They are computed by the caller from the policy (they
	// need working days) and stored so the watcher need not recompute them.
	ContactBy time.Time `json:"contact_by,omitzero"`
	AnswerBy  time.Time `json:"answer_by,omitzero"`
	// ContactedAt is when the customer was first contacted, which meets
	// ContactBy. Registering the order counts as contact: registration is
	// done with the customer, and every later step requires it.
	ContactedAt time.Time `json:"contacted_at,omitzero"`
	// FollowUp is the follow-up call's outcome: "" (none yet),
	// FollowUpSatisfied, FollowUpUnsatisfied or FollowUpNoAnswer.
	FollowUp       string    `json:"follow_up,omitempty"`
	UrgeCount      int       `json:"urge_count"`      // 催办
	SuperviseCount int       `json:"supervise_count"` // 督办
	RepeatCalls    int       `json:"repeat_calls"`    // later calls about this same order
	ClosedAt       time.Time `json:"closed_at,omitzero"`

	// Subtype picks the policy limits of a sub-type of a type other than
	// complaint (a fault in a rural area, a reconnection request); a
	// complaint's sub-type is its Class.
	Subtype string `json:"subtype,omitempty"`
	// PolicyVersion is the version of the policy that set the deadlines.
	PolicyVersion string `json:"policy_version,omitempty"`
	// Deadlines is every deadline ever set on the order, with whether it
	// was met (see Deadline); ContactBy and AnswerBy are the earliest
	// active ones.
	Deadlines []Deadline `json:"deadlines,omitempty"`
	// FirstResponder is who took the order (首问负责制): the agent or
	// operator who accepted it, or the agent who first answered its caller;
	// Queue is the agent queue that call was answered in.
	FirstResponder   string    `json:"first_responder,omitempty"`
	FirstResponderAt time.Time `json:"first_responder_at,omitzero"`
	Queue            string    `json:"queue,omitempty"`
	// Responsibility is whose responsibility a complaint is, once verified
	// (ResponsibilityCustomer or ResponsibilityUtility).
	Responsibility string    `json:"responsibility,omitempty"`
	VerifiedAt     time.Time `json:"verified_at,omitzero"`
	// The closed loop of seed 001 §7: the proposed handling (拟办), the
	// investigation report with the root cause and corrective measure
	// (四不放过), the decision (处理意见), and the station's early-warning
	// report (预警报告).
	Proposal       string    `json:"proposal,omitempty"`
	Cause          string    `json:"cause,omitempty"`
	Measure        string    `json:"measure,omitempty"`
	InvestigatedAt time.Time `json:"investigated_at,omitzero"`
	Decision       string    `json:"decision,omitempty"`
	WarnedAt       time.Time `json:"warned_at,omitzero"`
	ProgressAt     time.Time `json:"progress_at,omitzero"` // last progress told to the customer
	ResolvedAt     time.Time `json:"resolved_at,omitzero"` // last resolution
	// Survey is the latest post-call survey answer of a call about the
	// order (RecordSurvey); every one is in the audit trail.
	Survey *Survey `json:"survey,omitempty"`
}

// Responsibility, as the verify action records it (seed 001 §4.3).
const (
	ResponsibilityCustomer = "customer"
	ResponsibilityUtility  = "utility"
)

// Decisions (处理意见) a complaint or report can end with.
const (
	DecisionUpheld    = "upheld"     // the utility was at fault
	DecisionNotUpheld = "not_upheld" // it was not
	DecisionMalicious = "malicious"  // a malicious complaint: it costs the station nothing
	DecisionAverted   = "averted"    // the station contacted the customer and averted a 95598/12398 complaint
)

// ValidDecision reports whether d is one of the Decision constants.
func ValidDecision(d string) bool {
	switch d {
	case DecisionUpheld, DecisionNotUpheld, DecisionMalicious, DecisionAverted:
		return true
	}
	return false
}

// AuditEntry records one thing done to a ticket.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Note   string    `json:"note"`
	// From and To say what the action changed, so reports need not parse
	// notes: the status for life-cycle moves, the assignee for assign and
	// transfer, the ladder level for escalate, the count for urge,
	// supervise and repeat_call, the child id (To) for merged.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Audit actions that are not Apply actions. They stay untyped so that they
// fit AuditEntry.Action (a string) as well as Action; ActionNote is both an
// audit action and an Apply action.
const (
	ActionAccepted   = "accepted"
	ActionNote       = "note"
	ActionMerged     = "merged"      // on a parent: a child order was merged under it
	ActionRepeatCall = "repeat_call" // the customer called again about the order
	// ActionFirstResponder: the agent who first answered the caller took
	// the order (SetFirstResponder).
	ActionFirstResponder = "first_responder"
	// ActionMergedInto: on a child, an existing order was merged under a
	// parent (Merge).
	ActionMergedInto = "merged_into"
	// ActionDeadlineMissed: the watcher recorded a missed deadline
	// without escalating (MarkMissed).
	ActionDeadlineMissed = "deadline_missed"
)

// DefaultActor is who accepted a ticket when Create is not told otherwise.
const DefaultActor = "ivr"

// SystemActor is the back office acting by itself (the watcher, a cleared
// outage); it is never anyone's first responder.
const SystemActor = "system"

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// seqTTL keeps a day's counter a little past midnight, so a replica whose
// clock lags behind still increments yesterday's counter instead of
// recreating it from 1 and reusing IDs.
const seqTTL = 3 * 24 * time.Hour

// maxSeq: the sequence has six digits; a seventh would change the ID
// length that agents and callers rely on.
const maxSeq = 999999

// Store reads and writes tickets in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	// tax is swapped atomically because a policy reload may replace the
	// taxonomy while calls are creating orders.
	tax atomic.Pointer[Taxonomy]
	// ack: how many Redis replicas must hold a created or changed ticket
	// before the caller is told (SetReplicaAck).
	ack durable.Policy
}

// SetReplicaAck makes every ticket write wait, on its transaction's
// connection, until p.Replicas replicas hold it; a write they do not
// confirm in time returns an error wrapping durable.ErrNotReplicated (the
// ticket is on the master, but nobody may be told its number). Call it
// before the store is used.
func (s *Store) SetReplicaAck(p durable.Policy) { s.ack = p }

// New returns a Store using keys under prefix (DefaultPrefix when empty) and
// now for timestamps (time.Now when nil).
func New(rdb redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, now: now}
}

// SetTaxonomy sets the class / subject validator used by Create; nil
// accepts any non-empty ids. Safe to call while the store is in use.
func (s *Store) SetTaxonomy(t Taxonomy) {
	if t == nil {
		s.tax.Store(nil)
		return
	}
	s.tax.Store(&t)
}

func (s *Store) taxonomy() Taxonomy {
	if p := s.tax.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) ticketKey(id string) string    { return s.prefix + "ticket:" + id }
func (s *Store) seqKey(day string) string      { return s.prefix + "tickets:seq:" + day }
func (s *Store) allKey() string                { return s.prefix + "tickets:all" }
func (s *Store) typeKey(t Type) string         { return s.prefix + "tickets:by_type:" + string(t) }
func (s *Store) phoneKey(phone string) string  { return s.prefix + "tickets:by_phone:" + phone }
func (s *Store) accountKey(acct string) string { return s.prefix + "tickets:by_account:" + acct }
func (s *Store) openKey() string               { return s.prefix + "tickets:open" }
func (s *Store) openTypeKey(t Type) string     { return s.prefix + "tickets:open:" + string(t) }
func (s *Store) deadlineKey() string           { return s.prefix + "tickets:deadlines" }

// writeIndexes queues the open and deadline index entries that follow from
// t's current state. Every write of a ticket calls it inside the same
// MULTI, so the indexes can never disagree with the stored status; ZADD and
// ZREM are idempotent, so rewriting unchanged entries is harmless and
// heals a ticket written before these indexes existed.
//
// The deadline index holds every order with an active deadline, open or
// not: a resolved 12398 item still has to be closed in time.
func (s *Store) writeIndexes(ctx context.Context, pipe redis.Pipeliner, t *Ticket) {
	if t.Status.Open() {
		created := redis.Z{Score: float64(t.CreatedAt.UnixMilli()), Member: t.ID}
		pipe.ZAdd(ctx, s.openKey(), created)
		pipe.ZAdd(ctx, s.openTypeKey(t.Type), created)
	} else {
		pipe.ZRem(ctx, s.openKey(), t.ID)
		pipe.ZRem(ctx, s.openTypeKey(t.Type), t.ID)
	}
	if d := t.NextDeadline(); !d.IsZero() {
		pipe.ZAdd(ctx, s.deadlineKey(), redis.Z{Score: float64(d.UnixMilli()), Member: t.ID})
	} else {
		pipe.ZRem(ctx, s.deadlineKey(), t.ID)
	}
}

// ValidID reports whether id has the shape of a ticket ID: 14 digits.
func ValidID(id string) bool { return len(id) == 14 && digits(id) }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Get returns the ticket with the given ID.
func (s *Store) Get(ctx context.Context, id string) (Ticket, error) {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	js, err := s.rdb.Get(ctx, s.ticketKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: get %s: %w", id, err)
	}
	return decode(id, js)
}

func decode(id, js string) (Ticket, error) {
	var t Ticket
	if err := json.Unmarshal([]byte(js), &t); err != nil {
		return Ticket{}, fmt.Errorf("tickets: decode %s: %w", id, err)
	}
	return t, nil
}
